"""Answers with ``[n]`` citations: the offline extractive answerer, the LLM answerer,
citation parsing and repair, refusal and follow-up resolution.

``Assistant.ask`` goes through :func:`rag.answer.pipeline.answer_question`.
"""
