"""Evaluation, one concept per module: analogy, similarity, tagging, classification, sentence (STS, retrieval, isotropy)."""
