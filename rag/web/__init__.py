"""The chat page: ``python ui.py`` or ``rag ui``.

``build_app(rag)`` returns the Gradio page over a ``RAG``; ``main()`` builds both from the settings and
serves them. Rendering (``rag.web.html``) and upload checks (``rag.web.uploads``) are plain functions.
"""

from rag.web.app import ChatPage, ChatSession, build_app, launch_options, main

__all__ = ["build_app", "main", "launch_options", "ChatPage", "ChatSession"]
