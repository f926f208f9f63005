"""Out-of-distribution detection in the shift suite: logit scores (`scores`), OOD sets (`sets`)
and the detection metrics of each set against the clean rows (`metrics`)."""
