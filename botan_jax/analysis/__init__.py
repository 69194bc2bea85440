"""Analysis of generated and predicted dynamics."""
