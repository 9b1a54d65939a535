"""Identity resolution: normalized identifiers, the identifier graph, stable customer ids."""
