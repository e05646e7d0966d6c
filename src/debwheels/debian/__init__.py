"""Debian: the pinned builder and endpoint images, the .deb, debian/ scaffolding, the apt repository, endpoints."""
