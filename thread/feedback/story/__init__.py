"""The thread page: one part revision's whole story from design to shop floor and back, now or as
recorded at a moment (docs/feedback.md, "The thread page")."""
