"""The SimPy demand simulation: users, sessions, agents, caches, retries and quotas against pools."""
