"""``roost artifacts list|inspect|push|pull|replicate``: the embedded OCI store and registries.

The store is ``.roost/artifacts`` (an OCI image layout). Registries are named like images:
``127.0.0.1:5000/shop/web:1.0``; loopback hosts speak HTTP, others HTTPS (write ``http://`` to
force it). Credentials come from ``ROOST_REGISTRY_USERNAME`` / ``ROOST_REGISTRY_PASSWORD``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ProjectOpt
from roost.cli._output import EXIT_INVALID, console, fail, user_errors
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.artifacts import Descriptor, OciLayout, RegistryClient, RegistryRef

TimeoutOpt = Annotated[float, typer.Option(help="Seconds to wait for a registry to answer.")]

artifacts_app = typer.Typer(
    help="Artifacts: the embedded OCI store, and pushing to / pulling from registries.",
    no_args_is_help=True,
)


@contextmanager
def artifact_errors() -> Iterator[None]:
    """:func:`user_errors`, and an artifact store's or registry's failure as one line: a bad
    reference exits 2, anything else 1."""
    from roost.artifacts import ArtifactError, BadReference

    with user_errors():
        try:
            yield
        except BadReference as exc:
            fail(str(exc), hint=exc.hint, code=EXIT_INVALID)
        except ArtifactError as exc:
            fail(str(exc), hint=exc.hint)


def _layout(project: Path | None) -> OciLayout:
    from roost.artifacts import layout_of
    from roost.control.paths import resolve_root

    return layout_of(resolve_root(project))


def _client(ref: RegistryRef, timeout: float) -> RegistryClient:
    from roost.artifacts import RegistryClient

    return RegistryClient(ref.base_url, timeout=timeout)


def _progress(verb: str) -> Callable[[str, Descriptor], None]:
    def report(action: str, blob: Descriptor) -> None:
        what = blob.annotations.get("org.opencontainers.image.title") or blob.media_type
        shown = "exists, skipped" if action == "skip" else f"{verb} {blob.size} bytes"
        console.print(f"  {blob.digest[:19]}  {what}: {shown}", markup=False)

    return report


@artifacts_app.command("list")
def list_artifacts(project: ProjectOpt = None, output: FormatOpt = None) -> None:
    """Every artifact in the project's store, with its tags."""
    fmt = chosen(output)
    with artifact_errors():
        layout = _layout(project)
        entries = layout.entries() if layout.index_path.exists() else []
        if fmt is not None:
            from roost.cli._shapes import ArtifactItem, ArtifactList

            items = []
            for entry in entries:
                _, manifest = layout.manifest(entry.digest)
                notes = manifest.annotations
                items.append(
                    ArtifactItem(
                        digest=entry.digest,
                        tags=list(entry.tags),
                        service=notes.get("dev.roost.service"),
                        created=notes.get("org.opencontainers.image.created"),
                        size=entry.descriptor.size + sum(b.size for b in manifest.blobs),
                    )
                )
            emit(ArtifactList(store=str(layout.root), items=items), fmt)
            return
        table = Table(
            "digest", "tags", "service", "created", "size", title=f"artifacts in {layout.root}"
        )
        for entry in entries:
            _, manifest = layout.manifest(entry.digest)
            size = entry.descriptor.size + sum(blob.size for blob in manifest.blobs)
            table.add_row(
                entry.digest[:19],
                ", ".join(entry.tags) or "-",
                manifest.annotations.get("dev.roost.service", ""),
                manifest.annotations.get("org.opencontainers.image.created", ""),
                _size(size),
            )
    console.print(table)


@artifacts_app.command("inspect")
def inspect(
    reference: Annotated[str, typer.Argument(help="Tag (web:3f2a9c1), digest or digest prefix.")],
    project: ProjectOpt = None,
) -> None:
    """An artifact's manifest, config and layers (digests verified while reading)."""
    with artifact_errors():
        layout = _layout(project)
        descriptor, manifest = layout.manifest(reference)
        config = json.loads(layout.read_blob(manifest.config.digest))
        for layer in manifest.layers:
            layout.read_blob(layer.digest)  # verifies every byte
        document = {
            "digest": descriptor.digest,
            "tags": list(layout.tags_of(descriptor.digest)),
            "artifactType": manifest.artifact_type,
            "annotations": dict(manifest.annotations),
            "config": {"digest": manifest.config.digest, "content": config},
            "layers": [
                {
                    "title": layer.annotations.get("org.opencontainers.image.title"),
                    "mediaType": layer.media_type,
                    "digest": layer.digest,
                    "size": layer.size,
                }
                for layer in manifest.layers
            ],
        }
    console.print_json(json.dumps(document))


@artifacts_app.command("push")
def push(
    reference: Annotated[str, typer.Argument(help="Local tag, digest or digest prefix.")],
    target: Annotated[
        str, typer.Argument(help="REGISTRY/NAME[:TAG], e.g. 127.0.0.1:5000/shop/web")
    ],
    project: ProjectOpt = None,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Push an artifact to a registry (blobs it already has are skipped)."""
    from roost.artifacts import parse_registry_ref
    from roost.artifacts import push as push_artifact

    with artifact_errors():
        ref = parse_registry_ref(target)
        layout = _layout(project)
        with _client(ref, timeout) as client:
            done = push_artifact(layout, reference, ref, client, progress=_progress("pushed"))
    summary = f"{done.copied} blobs sent, {done.skipped} already there"
    console.print(f"pushed {done.digest} to {done.reference} ({summary})", markup=False)


@artifacts_app.command("pull")
def pull(
    source: Annotated[str, typer.Argument(help="REGISTRY/NAME:TAG or REGISTRY/NAME@DIGEST.")],
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            "-t",
            help="Local tag (default: NAME:TAG, NAME with its whole repository path).",
        ),
    ] = None,
    project: ProjectOpt = None,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Pull an artifact into the project's store; every digest is verified, a mismatch is
    refused and nothing is written."""
    from roost.artifacts import parse_registry_ref
    from roost.artifacts import pull as pull_artifact

    with artifact_errors():
        ref = parse_registry_ref(source, require_reference=True)
        layout = _layout(project)
        with _client(ref, timeout) as client:
            done = pull_artifact(
                client,
                ref,
                layout,
                tags=tuple(tag) if tag else None,
                progress=_progress("pulled"),
            )
    summary = f"{done.copied} blobs fetched, {done.skipped} already here"
    console.print(f"pulled {done.digest} as {done.reference} ({summary})", markup=False)


@artifacts_app.command("replicate")
def replicate(
    source: Annotated[str, typer.Argument(help="REGISTRY/NAME[:TAG]: without a tag, every tag.")],
    target: Annotated[str, typer.Argument(help="REGISTRY/NAME to copy to.")],
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Copy artifacts from one registry to another (e.g. to a regional registry)."""
    from roost.artifacts import parse_registry_ref
    from roost.artifacts import replicate as replicate_artifacts

    with artifact_errors():
        src, dst = parse_registry_ref(source), parse_registry_ref(target)
        with _client(src, timeout) as upstream, _client(dst, timeout) as downstream:
            copies = replicate_artifacts(
                upstream, src, downstream, dst, progress=_progress("copied")
            )
    for done in copies:
        summary = f"{done.copied} blobs copied, {done.skipped} already there"
        console.print(f"replicated {done.digest} to {done.reference} ({summary})", markup=False)
    if not copies:
        console.print(f"{src} has no tags: nothing to replicate", markup=False)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
