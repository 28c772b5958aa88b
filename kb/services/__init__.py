"""Write services of the knowledge base (see STYLE.md: business rules live here, not in views)."""
