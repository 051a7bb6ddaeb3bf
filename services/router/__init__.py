"""Router: finds the place, the competent authority and every recipient, with reasons."""
