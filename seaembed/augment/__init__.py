"""Training-data construction: readers, structured pairs, translation and synthetic-query augmentation, hard-negative
mining, self-validation filtering and the data report. Entry point: `seaembed.augment.build.build_dataset` /
`seaembed data build CONFIG`."""
