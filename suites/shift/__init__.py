"""Distribution-shift suite: image corruptions, dataset shift and OOD detection."""
