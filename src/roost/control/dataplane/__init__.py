"""Talking to the data plane: the agent client, its protocol and the metrics it answers.
Imports nothing else of ``roost.control`` but its base (errors, workspace)."""
