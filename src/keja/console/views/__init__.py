"""HTMX pages and partials of the agency console. No business logic: views parse input with
forms, call services and selectors, and pick the template (full page or the swapped partial)."""
