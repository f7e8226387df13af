"""What makes one ``roost serve`` the acting control plane: the leader-election gate, the
leader's duties (the rollout loop, deploy locks) and the agents' readiness."""
