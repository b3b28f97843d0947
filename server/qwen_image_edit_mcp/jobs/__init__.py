"""Paid work and its bookkeeping: what an edit costs, and what this server has spent."""
