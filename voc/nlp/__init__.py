"""NLP: PII redaction, language, sentiment, embeddings, topic registry."""
