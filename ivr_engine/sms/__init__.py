"""Callback texts: the outbox written with call records, the worker that sends them, the
providers it sends through, delivery reports and administration."""
