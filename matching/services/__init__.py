"""Write services of matching: runs, engagements, notifications."""
