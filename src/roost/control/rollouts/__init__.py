"""The rollout executor: applies the rollout domain's decisions (router, runtime, store), its
loop, the deploy request stored with a rollout, and what it observes of a canary."""
