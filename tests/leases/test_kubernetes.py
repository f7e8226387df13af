"""What only the Kubernetes backend does, against the fake Lease API (no cluster here): schema
-valid objects, MicroTime spelling, name mapping, resourceVersion and UID preconditions, and a
fencing counter that survives ``kubectl delete``."""

from __future__ import annotations

from collections.abc import Iterator

import kubernetes_validate
import pytest
from tests.leases._k8s_fake import SCHEMA_VERSION, FakeLeaseApi
from tests.leases.conftest import k8s_configuration

from roost.clock import VirtualClock
from roost.leases import BackendConfigError, BackendUnavailable, LeaseLost
from roost.leases._k8s_naming import micro_time, object_name
from roost.leases.configuring import open_backend
from roost.leases.kubernetes import KubernetesLeaseBackend
from roost.store import Store


@pytest.fixture
def kube(k8s_api: FakeLeaseApi) -> Iterator[KubernetesLeaseBackend]:
    backend = KubernetesLeaseBackend(
        k8s_configuration(k8s_api), namespace="roost", clock=VirtualClock()
    )
    yield backend
    backend.close()


def test_objects_are_valid_leases_that_kubectl_understands(
    kube: KubernetesLeaseBackend, k8s_api: FakeLeaseApi
) -> None:
    kube.acquire("deploy/web/prod", "ci-42", duration_seconds=2.5, reason="release r7")
    stored = k8s_api.stored("roost", object_name("deploy/web/prod"))
    assert stored is not None
    kubernetes_validate.validate(stored, SCHEMA_VERSION, strict=True)
    assert stored["metadata"]["name"].startswith("deploy-web-prod-")
    assert stored["metadata"]["annotations"] == {
        "roost.dev/lease-name": "deploy/web/prod",
        "roost.dev/fencing-token": "1",
        "roost.dev/duration-seconds": "2.5",
        "roost.dev/reason": "release r7",
    }
    spec = stored["spec"]
    assert spec["holderIdentity"] == "ci-42"
    assert spec["leaseDurationSeconds"] == 3  # whole seconds, rounded up
    assert spec["leaseTransitions"] == 0
    # The virtual clock sits on a whole second: isoformat() would have dropped the fraction,
    # which the API server rejects for a MicroTime.
    assert spec["acquireTime"] == spec["renewTime"] == "2026-01-01T00:00:00.000000Z"
    counter = k8s_api.stored("roost", "roost-fencing-tokens")
    assert counter is not None
    kubernetes_validate.validate(counter, SCHEMA_VERSION, strict=True)
    assert k8s_api.invalid == []


def test_names_map_to_dns_subdomains() -> None:
    assert object_name("control-plane") == "control-plane"
    assert object_name("node.host-1") == "node.host-1"
    mapped = object_name("Deploy/Web")
    assert mapped.startswith("deploy-web-")
    assert mapped != object_name("deploy/web")
    assert len(object_name("x/" * 100)) <= 253
    assert micro_time(VirtualClock().now()) == "2026-01-01T00:00:00.000000Z"


def test_the_token_survives_kubectl_delete(
    kube: KubernetesLeaseBackend, k8s_api: FakeLeaseApi
) -> None:
    first = kube.acquire("leader", "a", duration_seconds=5)
    assert first is not None
    k8s_api.objects.pop(("roost", "leader"))  # deleted behind roost's back
    second = kube.acquire("leader", "b", duration_seconds=5)
    assert second is not None
    assert second.fencing_token > first.fencing_token


def test_a_renewal_after_delete_does_not_resurrect_the_lease(
    kube: KubernetesLeaseBackend, k8s_api: FakeLeaseApi
) -> None:
    kube.acquire("leader", "a", duration_seconds=5)
    stale = kube._read("leader")  # what the holder read just before the delete
    assert stale is not None
    assert kube.delete("leader")
    # Leases allow create-on-update: only the UID precondition stops the PUT from
    # recreating the deleted lease with the deposed holder's token.
    lease = kube._lease(stale)
    assert kube._write_renewal(stale, lease, VirtualClock().now(), 5, None) is None
    assert k8s_api.stored("roost", "leader") is None
    with pytest.raises(LeaseLost, match="no longer exists"):
        kube.renew("leader", "a")


def test_api_errors_are_one_clear_line(kube: KubernetesLeaseBackend, k8s_api: FakeLeaseApi) -> None:
    k8s_api.fail_next(403)
    with pytest.raises(BackendUnavailable, match="answered 403") as caught:
        kube.get("leader")
    assert "leases.coordination.k8s.io" in caught.value.hint
    k8s_api.fail_next(500)
    with pytest.raises(BackendUnavailable, match="answered 500"):
        kube.acquire("leader", "a", duration_seconds=5)


def test_an_unreachable_api_is_one_clear_error(k8s_api: FakeLeaseApi) -> None:
    configuration = k8s_configuration(k8s_api)
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing listens
    backend = KubernetesLeaseBackend(configuration, namespace="roost", timeout=1)
    try:
        with pytest.raises(BackendUnavailable, match="unreachable") as caught:
            backend.list()
        assert "KUBECONFIG" in caught.value.hint
    finally:
        backend.close()


def test_no_kubeconfig_is_a_config_error(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    with pytest.raises(BackendConfigError, match="no Kubernetes configuration") as caught:
        open_backend(store, environ={"ROOST_LEASE_BACKEND": "kubernetes"})
    assert "KUBECONFIG" in caught.value.hint
