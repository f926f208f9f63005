"""The shift suite's statistics across the models of a board: mCE and relative mCE
(`corruption_error`), effective robustness (`effective_robustness`), on paired resamples
(`shift_resampling`) of the suite's records (`shift_records`); `columns.board_columns` is the
hook the suite's board hands the leaderboard. Torch-free: the results side runs it."""
