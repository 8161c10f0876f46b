"""`seaembed run`: the whole flow (data, train, merge, eval, export, index) from one config, resumable by stage."""
