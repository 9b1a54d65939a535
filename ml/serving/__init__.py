"""The decision endpoint: identity -> online features -> champion score -> rules -> action."""
