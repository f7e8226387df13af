"""SLOs in the control plane: the watcher loop, alert notifications, reports and the canary's
page check."""
