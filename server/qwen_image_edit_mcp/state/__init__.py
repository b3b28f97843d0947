"""The state wing: what outlives a tool call and a process (the spend ledger, the upload cache, the job journal),
behind the protocols of store.py, in SQLite on one machine or Redis across replicas. A ground-floor wing: it knows
nothing of WaveSpeed, images or MCP, and every floor above may use it."""
