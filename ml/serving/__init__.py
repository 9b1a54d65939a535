"""The champion model as the decision endpoint serves it: which version the alias names, loaded
and swapped without downtime, scored with numpy only."""
