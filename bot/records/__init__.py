"""Records kept for the council: signed preserved originals, evidence packs and exports."""
