"""The operations behind the API and the CLI: the data-plane operations (up, start, weights,
stop), deploy / approve / commands, rollback / history, and ``roost doctor``'s diagnosis."""
