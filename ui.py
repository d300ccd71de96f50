"""Launch the chat page: `python ui.py` (settings from RAG_* variables; see `rag config`)."""

from rag.web import main

if __name__ == "__main__":
    main()
