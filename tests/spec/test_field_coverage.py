# ruff: noqa: E501 - a table of test ids reads best one entry per line
"""Nothing accepted is ignored: every field of roost.yaml's JSON Schema either has a behaviour
test that exercises it (``EXERCISED``: field path → the test) or is refused by ``roost
validate`` as "not available yet" (``roost.spec.availability.UNAVAILABLE``).

A new field in the schema fails :func:`test_every_schema_field_is_exercised_or_refused` until it
is added to one of the two. Paths: ``*`` is a mapping key, ``[]`` a list item; ``defaults.X`` is
the same field as ``services[].X`` (a default is a service field that a service does not set),
and the three probes share their fields (``probes.*``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from roost.spec import SpecError, parse_project, project_json_schema
from roost.spec.availability import DEFAULT_FIELDS, NOT_AVAILABLE, UNAVAILABLE
from roost.spec.project import Defaults

REPO = Path(__file__).resolve().parents[2]

T_GUARD = "tests/rollout/test_guarding.py::"
T_STEP = "tests/rollout/test_stepping.py::"
T_ANALYSE = "tests/rollout/test_analysing.py::"
T_COMPARE = "tests/rollout/test_comparing.py::"
T_WARM = "tests/rollout/test_warming.py::"
T_SWITCH = "tests/rollout/test_switching.py::"
T_PROBE = "tests/runtime/local/test_probing.py::"
T_BUILD = "tests/build/test_running.py::"
T_NOTIFY = "tests/control/test_notifying.py::"
T_SYNTH = "tests/agent/test_synthetic.py::"
T_CANARY = (
    "tests/cli/test_rollouts.py::test_promote_abort_traffic_first_schema_refusal_and_forced_restore"
)
T_DATAPLANE = (
    "tests/cli/test_dataplane.py::test_up_serves_through_the_router_and_weights_move_traffic"
)
T_SLO_LIVE = "tests/cli/test_slos_live.py::test_outage_pages_in_time_gates_deploys_and_resolves"
T_STARTING = (
    "tests/runtime/local/test_starting.py::"
    "test_two_replicas_each_serve_on_their_own_port_with_env_config_and_secrets"
)
T_EXAMPLE = "tests/spec/test_example.py::"
T_LINT = "tests/schedules/test_linting.py::"
T_RUN = "tests/actions/test_scheduling.py::"
T_IDENTITY = (
    "tests/cli/test_workload_identity.py::"
    "test_a_calls_b_with_its_workload_token_and_b_refuses_bad_ones"
)

T_OIDC = "tests/api/test_oidc.py::"

EXERCISED: dict[str, str] = {
    # Who may call the API: an OIDC issuer and its role mapping.
    **dict.fromkeys(
        (
            "auth",
            "auth.oidc",
            "auth.oidc.issuer",
            "auth.oidc.audience",
            "auth.oidc.jwks_url",
            "auth.oidc.subject_claim",
            "auth.oidc.groups_claim",
            "auth.oidc.algorithms",
            "auth.oidc.roles",
            "auth.oidc.roles[].subject",
            "auth.oidc.roles[].group",
            "auth.oidc.roles[].role",
            "auth.oidc.roles[].environment",
            "auth.oidc.roles[].service",
        ),
        T_OIDC + "test_a_token_from_the_issuer_authenticates_with_its_mapped_roles",
    ),
    # Sealed secrets: where the key-encryption key comes from.
    "secret_store": "tests/control/test_vault.py::test_the_key_can_come_from_key_command",
    "secret_store.key_command": "tests/control/test_vault.py::"
    "test_the_key_can_come_from_key_command",
    # Promotion between environments, checked in the store.
    "environments.*.promote_from": "tests/control/test_promotion.py::"
    "test_staging_takes_only_what_dev_promoted_once_it_soaked",
    "environments.*.soak_time": "tests/control/test_promotion.py::"
    "test_staging_takes_only_what_dev_promoted_once_it_soaked",
    # Fields for people (shown, never acted on): the example shows them and the models keep them.
    "description": T_EXAMPLE + "test_the_example_round_trips",
    "environments.*.description": T_EXAMPLE + "test_the_example_round_trips",
    "services[].description": T_EXAMPLE + "test_the_example_round_trips",
    "services[].slos[].description": "tests/cli/test_slos.py::test_export_then_import_round_trips",
    # The project.
    "project": "tests/cli/test_validate.py::test_the_example_validates",
    "version": "tests/cli/test_validate.py::test_the_example_validates",
    "defaults": "tests/cli/test_rollout_guardrails.py::"
    "test_approval_inconclusive_pause_and_resume_after_kill_9",
    "environments": T_DATAPLANE,
    "services": T_DATAPLANE,
    # Environments.
    "environments.*.runtime": T_DATAPLANE,
    "environments.*.runtime.kind": T_DATAPLANE,
    "environments.*.runtime.isolation": T_DATAPLANE,
    "environments.*.approval": "tests/cli/test_rollout_guardrails.py::"
    "test_approval_inconclusive_pause_and_resume_after_kill_9",
    "environments.*.approval.required": T_GUARD
    + "test_the_requester_cannot_approve_their_own_deploy",
    "environments.*.approval.min_approvals": T_GUARD
    + "test_approvals_are_counted_per_distinct_allowed_person",
    "environments.*.approval.four_eyes": T_GUARD
    + "test_the_requester_cannot_approve_their_own_deploy",
    "environments.*.approval.approvers": T_GUARD + "test_only_listed_approvers_count",
    "environments.*.approval.expires_after": T_GUARD + "test_an_approval_request_expires",
    "environments.*.freeze_windows": T_GUARD
    + "test_a_freeze_refuses_deploys_but_lets_rollbacks_through",
    "environments.*.freeze_windows[].name": T_GUARD
    + "test_a_freeze_refuses_deploys_but_lets_rollbacks_through",
    "environments.*.freeze_windows[].reason": T_GUARD
    + "test_a_freeze_refuses_deploys_but_lets_rollbacks_through",
    "environments.*.freeze_windows[].timezone": T_GUARD + "test_a_one_off_window_in_its_time_zone",
    "environments.*.freeze_windows[].start": T_GUARD + "test_a_one_off_window_in_its_time_zone",
    "environments.*.freeze_windows[].end": T_GUARD + "test_a_one_off_window_in_its_time_zone",
    "environments.*.freeze_windows[].cron": T_GUARD
    + "test_a_recurring_window_fires_at_local_time_in_winter_and_summer",
    "environments.*.freeze_windows[].duration": T_GUARD
    + "test_a_window_across_the_spring_dst_change_ends_at_local_wall_time",
    "environments.*.freeze_windows[].allow_rollback": T_GUARD
    + "test_a_freeze_refuses_deploys_but_lets_rollbacks_through",
    "environments.*.error_budget_gate": T_SLO_LIVE,
    "environments.*.env": T_STARTING,
    "environments.*.scan": "tests/scan/test_release_gate.py::"
    "test_transitive_finding_blocks_production_until_waived",
    "environments.*.scan.fail_on": "tests/scan/test_release_gate.py::"
    "test_the_gate_skips_environments_without_a_threshold_and_audits_overrides",
    "environments.*.scan.unknown": "tests/scan/test_reports.py::"
    "test_unknown_severity_follows_the_explicit_rule",
    # Services.
    "services[].name": T_DATAPLANE,
    "services[].command": T_DATAPLANE,
    "services[].workdir": "tests/control/test_revisions.py::"
    "test_an_oci_release_runs_from_its_own_materialized_directory",
    "services[].port": "tests/runtime/test_command_expansion.py::"
    "test_port_and_braced_names_are_filled_in_without_a_shell",
    "services[].listen": "tests/cli/test_environments.py::test_a_staging_deploy_never_moves_dev_traffic",
    "services[].environments": "tests/control/test_revisions.py::"
    "test_an_oci_release_runs_from_its_own_materialized_directory",
    "services[].env": T_STARTING,
    "services[].config_files": T_STARTING,
    "services[].config_files[].path": T_STARTING,
    "services[].config_files[].source": T_STARTING,
    "services[].config_files[].content": T_STARTING,
    "services[].secrets": T_STARTING,
    "services[].secrets[].name": T_STARTING,
    "services[].secrets[].from": T_STARTING,
    "services[].replicas": "tests/runtime/local/test_starting.py::test_scale_up_and_down",
    "services[].resources": "tests/runtime/local/test_memory.py::"
    "test_a_replica_over_its_memory_limit_is_killed_as_oom",
    "services[].resources.memory": "tests/runtime/local/test_memory.py::"
    "test_a_replica_over_its_memory_limit_is_killed_as_oom",
    "services[].probes": T_PROBE
    + "test_startup_probe_holds_back_readiness_and_the_endpoints_callback",
    "services[].probes.startup": T_PROBE
    + "test_startup_probe_holds_back_readiness_and_the_endpoints_callback",
    "services[].probes.readiness": T_PROBE
    + "test_failing_readiness_takes_the_endpoint_away_without_a_restart",
    "services[].probes.liveness": T_PROBE + "test_failing_liveness_restarts_the_replica",
    "services[].probes.*.http": T_PROBE
    + "test_an_http_probe_to_a_server_that_never_answers_times_out",
    "services[].probes.*.http.path": T_PROBE
    + "test_an_http_probe_to_a_server_that_never_answers_times_out",
    "services[].probes.*.http.port": T_PROBE
    + "test_an_http_probe_to_a_server_that_never_answers_times_out",
    "services[].probes.*.http.scheme": T_PROBE
    + "test_an_http_probe_to_a_server_that_never_answers_times_out",
    "services[].probes.*.http.headers": T_SYNTH + "test_good_and_bad_answers",
    "services[].probes.*.http.expect_status": T_SYNTH + "test_good_and_bad_answers",
    "services[].probes.*.tcp": T_PROBE + "test_probe_worker_thresholds_follow_kubernetes",
    "services[].probes.*.tcp.port": T_PROBE + "test_probe_worker_thresholds_follow_kubernetes",
    "services[].probes.*.exec": T_PROBE + "test_a_hanging_exec_probe_times_out_and_is_killed",
    "services[].probes.*.exec.command": T_PROBE
    + "test_a_hanging_exec_probe_times_out_and_is_killed",
    "services[].probes.*.initial_delay": T_PROBE
    + "test_probe_worker_waits_the_initial_delay_from_process_start",
    "services[].probes.*.period": T_PROBE + "test_a_hanging_exec_probe_times_out_and_is_killed",
    "services[].probes.*.timeout": T_PROBE + "test_a_hanging_exec_probe_times_out_and_is_killed",
    "services[].probes.*.success_threshold": T_PROBE
    + "test_probe_worker_thresholds_follow_kubernetes",
    "services[].probes.*.failure_threshold": T_PROBE
    + "test_probe_worker_thresholds_follow_kubernetes",
    "services[].warmup": "tests/cli/test_rollout_warmup.py::"
    "test_a_cold_revision_gets_traffic_only_once_warm",
    "services[].warmup.requests": T_WARM
    + "test_warm_after_a_round_of_requests_when_no_latency_bound",
    "services[].warmup.path": "tests/cli/test_rollout_warmup.py::"
    "test_a_cold_revision_gets_traffic_only_once_warm",
    "services[].warmup.concurrency": "tests/cli/test_rollout_warmup.py::"
    "test_a_cold_revision_gets_traffic_only_once_warm",
    "services[].warmup.until_p95_below": T_WARM
    + "test_latency_bound_keeps_warming_until_p95_is_under_it",
    "services[].warmup.max_duration": T_WARM
    + "test_max_duration_fails_or_proceeds_cold_as_the_spec_says",
    "services[].warmup.on_timeout": T_WARM
    + "test_max_duration_fails_or_proceeds_cold_as_the_spec_says",
    "services[].warmup.slow_start": T_WARM
    + "test_slow_start_ramps_linearly_from_zero_to_the_target",
    "services[].rollout": T_CANARY,
    "services[].rollout.strategy": T_STEP + "test_direct_replaces_all_at_once",
    "services[].rollout.steps": T_STEP
    + "test_promote_path_goes_through_every_step_then_100_percent",
    "services[].rollout.steps[].set_weight": T_STEP
    + "test_promote_path_goes_through_every_step_then_100_percent",
    "services[].rollout.steps[].pause": T_STEP
    + "test_human_pause_holds_the_weight_and_resume_continues",
    "services[].rollout.steps[].analysis": T_STEP
    + "test_analysis_due_uses_the_steps_checks_and_a_fresh_window",
    "services[].rollout.steps[].analysis.duration": T_STEP
    + "test_a_failing_verdict_at_the_end_of_an_analysis_step_extends_it",
    "services[].rollout.steps[].analysis.checks": T_STEP
    + "test_analysis_due_uses_the_steps_checks_and_a_fresh_window",
    "services[].rollout.steps[].analysis.checks[].metric": T_STEP
    + "test_analysis_due_uses_the_steps_checks_and_a_fresh_window",
    "services[].rollout.steps[].analysis.checks[].max": T_STEP
    + "test_analysis_due_uses_the_steps_checks_and_a_fresh_window",
    "services[].rollout.steps[].analysis.checks[].min": T_ANALYSE
    + "test_latency_quantiles_and_both_bounds",
    "services[].rollout.abort_scale_down_delay": "tests/rollout/test_aborting.py::"
    "test_abort_moves_all_traffic_to_stable_first_in_one_update",
    "services[].rollout.preview_port": "tests/cli/test_blue_green.py::"
    "test_preview_address_then_switch_all_at_once",
    "services[].rollout.auto_promote": T_SWITCH
    + "test_auto_promote_waits_for_the_delay_and_a_passing_analysis",
    "services[].rollout.auto_promote_after": T_SWITCH
    + "test_auto_promote_waits_for_the_delay_and_a_passing_analysis",
    "services[].rollout.scale_down_delay": T_SWITCH
    + "test_preview_at_full_size_with_no_traffic_then_one_switch_on_promote",
    "services[].analysis": T_CANARY,
    "services[].analysis.interval": T_SLO_LIVE,
    "services[].analysis.checks": T_ANALYSE
    + "test_error_ratio_over_the_maximum_fails_with_a_readable_reason",
    "services[].analysis.checks[].metric": T_ANALYSE + "test_latency_quantiles_and_both_bounds",
    "services[].analysis.checks[].max": T_ANALYSE
    + "test_error_ratio_over_the_maximum_fails_with_a_readable_reason",
    "services[].analysis.checks[].min": T_ANALYSE + "test_request_rate_floor",
    "services[].analysis.compare_to_stable": T_ANALYSE
    + "test_comparison_runs_with_thresholds_and_fails_a_slow_canary",
    "services[].analysis.compare_to_stable.test": T_COMPARE
    + "test_a_clearly_slower_canary_fails_with_numbers_in_the_reason",
    "services[].analysis.compare_to_stable.metric": T_COMPARE
    + "test_error_ratio_effect_size_is_the_difference_in_ratios",
    "services[].analysis.compare_to_stable.min_effect_size": T_COMPARE
    + "test_a_tiny_but_significant_difference_is_not_a_regression",
    "services[].analysis.compare_to_stable.confidence": T_COMPARE
    + "test_error_ratio_effect_size_is_the_difference_in_ratios",
    "services[].analysis.min_samples": T_ANALYSE
    + "test_too_few_requests_for_a_threshold_is_inconclusive_not_pass_or_fail",
    "services[].analysis.inconclusive_limit": T_STEP
    + "test_inconclusive_analysis_extends_the_step_then_pauses_for_a_human",
    "services[].analysis.consecutive_failure_limit": T_STEP + "test_one_noisy_failure_is_tolerated",
    "services[].slos": T_SLO_LIVE,
    "services[].slos[].name": T_SLO_LIVE,
    "services[].slos[].objective": "tests/slo/test_evaluating.py::"
    "test_full_outage_on_999_30d_pages_after_about_52_seconds_and_resolves",
    "services[].slos[].window": "tests/slo/test_evaluating.py::"
    "test_full_outage_on_999_30d_pages_after_about_52_seconds_and_resolves",
    "services[].slos[].sli": T_SLO_LIVE,
    "services[].slos[].sli.kind": "tests/slo/test_evaluating.py::"
    "test_slo_sums_revisions_and_latency_counts_requests_under_the_bound",
    "services[].slos[].sli.bad_status": "tests/telemetry/test_window_counts.py::"
    "test_bad_status_must_cover_whole_classes",
    "services[].slos[].sli.threshold": "tests/slo/test_evaluating.py::"
    "test_slo_sums_revisions_and_latency_counts_requests_under_the_bound",
    "services[].slos[].sli.path": T_SYNTH
    + "test_the_prober_follows_the_project_and_counts_per_path",
    "services[].slos[].sli.interval": T_SYNTH
    + "test_the_prober_follows_the_project_and_counts_per_path",
    "services[].slos[].sli.timeout": T_SYNTH + "test_good_and_bad_answers",
    "services[].slos[].sli.expect_status": T_SYNTH + "test_good_and_bad_answers",
    "services[].slos[].alerts": T_SLO_LIVE,
    "services[].slos[].alerts[].name": T_SLO_LIVE,
    "services[].slos[].alerts[].severity": T_NOTIFY + "test_match_silences_and_send_resolved_false",
    "services[].slos[].alerts[].burn_rate": T_SLO_LIVE,
    "services[].slos[].alerts[].long_window": T_SLO_LIVE,
    "services[].slos[].alerts[].short_window": T_SLO_LIVE,
    "services[].schema": T_CANARY,
    "services[].schema.requires": T_CANARY,
    "services[].schema.migrates_to": T_CANARY,
    "services[].identity": T_IDENTITY,
    "services[].identity.audience": T_IDENTITY,
    "services[].build": "tests/build/test_end_to_end.py::"
    "test_commit_build_registry_release_and_run",
    "services[].build.context": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.steps": T_BUILD + "test_independent_steps_run_in_parallel",
    "services[].build.steps[].name": T_BUILD + "test_independent_steps_run_in_parallel",
    "services[].build.steps[].run": T_BUILD + "test_independent_steps_run_in_parallel",
    "services[].build.steps[].env": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.steps[].dir": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.steps[].timeout": T_BUILD + "test_step_and_build_timeouts",
    "services[].build.steps[].needs": T_BUILD + "test_independent_steps_run_in_parallel",
    "services[].build.steps[].cache": T_BUILD + "test_a_cached_step_is_restored_instead_of_run",
    "services[].build.steps[].cache.key_files": T_BUILD
    + "test_a_cached_step_is_restored_instead_of_run",
    "services[].build.steps[].cache.paths": T_BUILD
    + "test_a_cache_path_that_is_not_produced_fails_the_step",
    "services[].build.substitutions": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.timeout": T_BUILD + "test_step_and_build_timeouts",
    "services[].build.trigger": "tests/build/test_triggering.py::"
    "test_a_commit_on_a_matching_branch_builds_in_the_background",
    "services[].build.trigger.branches": "tests/build/test_triggering.py::"
    "test_branch_and_path_filters_pick_the_services",
    "services[].build.trigger.paths": "tests/build/test_triggering.py::"
    "test_branch_and_path_filters_pick_the_services",
    "services[].build.artifact": "tests/build/test_end_to_end.py::"
    "test_commit_build_registry_release_and_run",
    "services[].build.artifact.include": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.artifact.exclude": T_BUILD
    + "test_a_green_build_packages_the_commit_and_records_everything",
    "services[].build.on_success": "tests/build/test_end_to_end.py::"
    "test_commit_build_registry_release_and_run",
    "services[].build.on_success.release": "tests/build/test_end_to_end.py::"
    "test_commit_build_registry_release_and_run",
    "services[].build.on_success.deploy_to": "tests/build/test_end_to_end.py::"
    "test_commit_build_registry_release_and_run",
    # Vulnerability waivers.
    "scan": "tests/scan/test_release_gate.py::test_transitive_finding_blocks_production_until_waived",
    "scan.ignore": "tests/scan/test_release_gate.py::"
    "test_transitive_finding_blocks_production_until_waived",
    "scan.ignore[].id": "tests/scan/test_release_gate.py::"
    "test_transitive_finding_blocks_production_until_waived",
    "scan.ignore[].package": "tests/scan/test_explaining.py::test_policy_threshold_and_expiring_waivers",
    "scan.ignore[].reason": "tests/scan/test_release_gate.py::"
    "test_transitive_finding_blocks_production_until_waived",
    "scan.ignore[].expires": "tests/scan/test_explaining.py::"
    "test_policy_threshold_and_expiring_waivers",
    # Alerting.
    "alerting": T_NOTIFY
    + "test_webhook_gets_firing_after_group_wait_then_resolved_and_survives_an_outage",
    "alerting.receivers": T_NOTIFY
    + "test_webhook_gets_firing_after_group_wait_then_resolved_and_survives_an_outage",
    "alerting.receivers[].name": T_NOTIFY
    + "test_webhook_gets_firing_after_group_wait_then_resolved_and_survives_an_outage",
    "alerting.receivers[].webhook": T_NOTIFY
    + "test_webhook_gets_firing_after_group_wait_then_resolved_and_survives_an_outage",
    "alerting.receivers[].alertmanager": T_NOTIFY
    + "test_an_alert_forwarded_by_the_control_plane_comes_out_at_alertmanagers_webhook",
    "alerting.receivers[].match": T_NOTIFY + "test_match_silences_and_send_resolved_false",
    "alerting.group_by": T_NOTIFY + "test_match_silences_and_send_resolved_false",
    "alerting.group_wait": "tests/alerts/test_routing.py::"
    "test_group_wait_batches_then_interval_then_repeat_then_resolved",
    "alerting.group_interval": "tests/alerts/test_routing.py::"
    "test_group_wait_batches_then_interval_then_repeat_then_resolved",
    "alerting.repeat_interval": "tests/alerts/test_routing.py::"
    "test_group_wait_batches_then_interval_then_repeat_then_resolved",
    "alerting.send_resolved": T_NOTIFY + "test_match_silences_and_send_resolved_false",
    # Schedules, business hours and the lint (tests/schedules, tests/actions).
    "environments.*.production": T_LINT
    + "test_the_seeds_midday_production_scale_down_fires_the_lint",
    "environments.*.business_hours": T_LINT
    + "test_the_seeds_midday_production_scale_down_fires_the_lint",
    "environments.*.business_hours.timezone": T_LINT
    + "test_in_summer_the_utc_midday_is_one_pm_in_london",
    "environments.*.business_hours.days": T_LINT
    + "test_a_scale_up_or_a_weekend_only_job_is_not_flagged",
    "environments.*.business_hours.start": T_LINT
    + "test_the_seeds_midday_production_scale_down_fires_the_lint",
    "environments.*.business_hours.end": T_LINT
    + "test_the_seeds_midday_production_scale_down_fires_the_lint",
    "schedules": T_RUN + "test_exactly_once_across_a_leader_failover",
    "schedules.*.description": T_EXAMPLE + "test_the_example_round_trips",
    "schedules.*.cron": T_RUN + "test_the_leaders_loop_through_a_dst_gap",
    "schedules.*.timezone": T_RUN + "test_the_leaders_loop_through_a_dst_overlap",
    "schedules.*.dst": T_RUN + "test_the_leaders_loop_through_a_dst_gap",
    "schedules.*.dst.gap": T_RUN + "test_the_leaders_loop_through_a_dst_gap",
    "schedules.*.dst.overlap": T_RUN + "test_the_leaders_loop_through_a_dst_overlap",
    "schedules.*.missed": T_RUN + "test_missed_runs_after_downtime_for_each_policy",
    "schedules.*.missed.policy": T_RUN + "test_missed_runs_after_downtime_for_each_policy",
    "schedules.*.missed.starting_deadline": "tests/schedules/test_planning.py::"
    "test_the_starting_deadline_drops_ticks_that_are_too_late",
    "schedules.*.concurrency": T_RUN + "test_concurrency_policies",
    "schedules.*.action": T_RUN + "test_the_leaders_loop_through_a_dst_gap",
    "schedules.*.params": T_RUN + "test_the_leaders_loop_through_a_dst_gap",
    # Events: the bus, triggers, their sinks, retries and loop guards (tests/events).
    "event_bus": "tests/events/test_jetstream_triggers.py::test_events_reach_a_trigger_through_jetstream",
    "event_bus.backend": "tests/events/test_jetstream_triggers.py::test_events_reach_a_trigger_through_jetstream",
    "event_bus.url": "tests/events/test_jetstream_triggers.py::test_events_reach_a_trigger_through_jetstream",
    "event_bus.stream": "tests/events/test_jetstream_triggers.py::test_events_reach_a_trigger_through_jetstream",
    "triggers": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].name": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].description": "tests/spec/test_example.py::test_the_example_round_trips",
    "triggers[].filters": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].filters[].exact": "tests/events/test_filtering.py::test_dialects",
    "triggers[].filters[].prefix": "tests/events/test_filtering.py::test_dialects",
    "triggers[].filters[].suffix": "tests/events/test_filtering.py::test_dialects",
    "triggers[].filters[].all": "tests/events/test_filtering.py::test_dialects",
    "triggers[].filters[].any": "tests/events/test_filtering.py::test_dialects",
    "triggers[].filters[].not": "tests/events/test_filtering.py::test_dialects",
    "triggers[].webhook": "tests/events/test_dispatching.py::test_a_matching_event_is_posted_once_in_binary_mode_with_its_id_as_key",
    "triggers[].webhook.url": "tests/events/test_dispatching.py::test_a_matching_event_is_posted_once_in_binary_mode_with_its_id_as_key",
    "triggers[].webhook.mode": "tests/events/test_dispatching.py::test_structured_mode_slack_and_ticket_bodies",
    "triggers[].webhook.headers": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].webhook.timeout": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].slack": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].slack.url": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].slack.text": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].slack.timeout": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].ticket": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].ticket.url": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].ticket.title": "tests/events/test_dispatching.py::test_structured_mode_slack_and_ticket_bodies",
    "triggers[].ticket.labels": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].ticket.timeout": "tests/events/test_scene.py::test_a_vulnerability_fans_out_dead_letters_replays_and_traces",
    "triggers[].command": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].command.run": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].command.timeout": "tests/events/test_dispatching.py::test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire",
    "triggers[].action": "tests/events/test_dispatching.py::test_a_loop_between_two_rules_is_stopped_by_the_depth_guard",
    "triggers[].action.name": "tests/events/test_dispatching.py::test_a_loop_between_two_rules_is_stopped_by_the_depth_guard",
    "triggers[].action.with": "tests/events/test_dispatching.py::test_a_loop_between_two_rules_is_stopped_by_the_depth_guard",
    "triggers[].retry": "tests/events/test_dispatching.py::test_failures_back_off_then_dead_letter_then_replay_delivers",
    "triggers[].retry.max_attempts": "tests/events/test_dispatching.py::test_failures_back_off_then_dead_letter_then_replay_delivers",
    "triggers[].retry.backoff": "tests/events/test_dispatching.py::test_failures_back_off_then_dead_letter_then_replay_delivers",
    "triggers[].retry.max_backoff": "tests/events/test_filtering.py::test_backoff_doubles_up_to_its_cap_with_bounded_jitter",
    "triggers[].retry.jitter": "tests/events/test_filtering.py::test_backoff_doubles_up_to_its_cap_with_bounded_jitter",
    "triggers[].retry.max_age": "tests/events/test_filtering.py::test_giving_up_after_max_attempts_or_max_age",
    "triggers[].guard": "tests/events/test_dispatching.py::test_a_loop_between_two_rules_is_stopped_by_the_depth_guard",
    "triggers[].guard.max_depth": "tests/events/test_dispatching.py::test_a_loop_between_two_rules_is_stopped_by_the_depth_guard",
    "triggers[].guard.max_rate": "tests/events/test_dispatching.py::test_the_rate_guard_suspends_a_trigger_and_its_events_wait_on_the_bus",
    "triggers[].guard.rate_window": "tests/events/test_dispatching.py::test_the_rate_guard_suspends_a_trigger_and_its_events_wait_on_the_bus",
    "triggers[].guard.cooldown": "tests/events/test_dispatching.py::test_the_cooldown_suspends_a_trigger_that_fires_again_too_soon",
}

REFUSED_WITH: dict[str, str] = {
    # Fields that only exist under a refused value: refused together with it.
    "environments.*.runtime.namespace": "environments.*.runtime.kind",
    "environments.*.runtime.context": "environments.*.runtime.kind",
    "environments.*.runtime.kubeconfig": "environments.*.runtime.kind",
    "environments.*.runtime.traffic": "environments.*.runtime.kind",
    "environments.*.runtime.gateway": "environments.*.runtime.kind",
}

AWAITING_ENFORCEMENT: dict[str, str] = {
    # Accepted but not enforced yet. Nothing may be added here.
}


def _schema_paths() -> list[str]:
    schema = project_json_schema()
    definitions = schema["$defs"]
    found: list[str] = []

    def walk(node: dict[str, Any], path: str, seen: frozenset[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(definitions[name], path, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                walk(sub, path, seen)
        for key, sub in node.get("properties", {}).items():
            child = f"{path}.{key}" if path else key
            found.append(child)
            walk(sub, child, seen)
        for sub in node.get("patternProperties", {}).values():
            walk(sub, f"{path}.*", seen)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*", seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", seen)

    walk(schema, "", frozenset())
    return list(dict.fromkeys(_normal(path) for path in found))


def _normal(path: str) -> str:
    if path.startswith("defaults."):
        path = "services[]." + path.removeprefix("defaults.")
    return re.sub(r"probes\.(startup|readiness|liveness)\.", "probes.*.", path)


def test_every_schema_field_is_exercised_or_refused() -> None:
    refused = {rule.path for rule in UNAVAILABLE} | set(REFUSED_WITH)
    known = set(EXERCISED) | refused | set(AWAITING_ENFORCEMENT)
    missing = [path for path in _schema_paths() if path not in known]
    assert not missing, (
        "new roost.yaml fields: add each to EXERCISED (with the behaviour test that exercises "
        f"it) or refuse it in roost.spec.availability: {missing}"
    )


def test_the_lists_name_only_fields_that_exist_and_do_not_overlap() -> None:
    paths = set(_schema_paths())
    refused = {rule.path for rule in UNAVAILABLE}
    assert set(EXERCISED) <= paths, set(EXERCISED) - paths
    assert refused <= paths, refused - paths
    assert set(REFUSED_WITH) <= paths
    assert set(REFUSED_WITH.values()) <= refused
    assert set(AWAITING_ENFORCEMENT) <= paths
    assert set(AWAITING_ENFORCEMENT) == set()  # promotion is enforced (test_promotion.py)
    # A field is refused only as a whole: not also "exercised" (a refused *value* such as
    # `isolation: podman` or `from: vault:...` may sit beside working values of the same field).
    partly = {rule.path for rule in UNAVAILABLE if rule.refused("anything") is False}
    assert not (set(EXERCISED) & (refused - partly)), set(EXERCISED) & (refused - partly)


def test_the_default_fields_are_the_defaults_model() -> None:
    assert set(DEFAULT_FIELDS) == set(Defaults.model_fields)


@cache
def _test_functions(file: str) -> frozenset[str]:
    tree = ast.parse((REPO / file).read_text())
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


@pytest.mark.parametrize("test_id", sorted(set(EXERCISED.values())))
def test_each_named_behaviour_test_exists(test_id: str) -> None:
    file, _, name = test_id.partition("::")
    assert (REPO / file).is_file(), test_id
    assert name in _test_functions(file), test_id


BASE = {
    "project": "p",
    "version": 1,
    "environments": {"dev": {}},
    "services": [{"name": "web", "command": "python3 app.py"}],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """The base project with ``value`` at ``path`` (a schema path), creating what is missing."""
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    node: Any = data
    parts = path.split(".")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        key = part.removesuffix("[]")
        if key == "*":
            key = "dev"
        if part.endswith("[]"):
            items = node.setdefault(key, [{}])
            if key == "secrets":
                items[0].setdefault("name", "TOKEN")
                items[0].setdefault("from", "env:TOKEN")
            node = items[0]
        elif last:
            node[key] = value
        else:
            node = node.setdefault(key, {})
            if key == "runtime":
                node.setdefault("kind", "local")
    return data


def _placements() -> list[Any]:
    """Each refused field where it can be written: under services, and also under defaults
    when defaults can set it."""
    cases = []
    for rule in UNAVAILABLE:
        cases.append(pytest.param(rule, "services", id=f"{rule.path}-services"))
        if rule.path.startswith("services[].") and rule.path.split(".")[1] in DEFAULT_FIELDS:
            cases.append(pytest.param(rule, "defaults", id=f"{rule.path}-defaults"))
    return cases


@pytest.mark.parametrize(("rule", "where"), _placements())
def test_each_refused_field_is_a_located_not_available_yet(rule: Any, where: str) -> None:
    path = rule.path if where == "services" else rule.path.replace("services[].", "defaults.", 1)
    data = _with(path, yaml.safe_load(rule.example))
    if rule.path == "environments.*.runtime.kind":
        data["environments"]["dev"]["runtime"]["namespace"] = "p"
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(SpecError) as caught:
        parse_project(text, filename="roost.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    problem = problems[0]
    assert NOT_AVAILABLE in problem.message
    assert problem.hint
    key = path.rsplit(".", 1)[-1]
    line = text.splitlines()[problem.line - 1]
    assert line.lstrip().startswith(f"{key}:") or f"{key}:" in line, (line, problem.format())
