"""The cold-build benchmark's application: it only pulls in its dependencies."""
