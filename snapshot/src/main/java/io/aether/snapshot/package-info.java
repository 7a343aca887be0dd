/**
 * The device-state file of a snapshot: a versioned container of named sections, one per
 * component, with a checksum per section and over the whole ({@link StateFile}), and the field
 * codec each component writes its state with ({@link StateWriter}, {@link StateReader}). Everything
 * read is untrusted: every length is checked before anything is allocated, and a bad file is
 * refused with a {@link SnapshotException} whose one-line message names the section.
 */
package io.aether.snapshot;
