"""The signed wheel mirror: manifest, sums, release, signatures and keys, verify and publish, index, serve, SBOM, provenance."""
