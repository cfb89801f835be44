"""HTML -> clean, structured transcript (title, date, place, language, text, speaker turns)."""
