/**
 * Discovery on the local network. Controllers and nodes announce themselves in small UDP
 * multicast {@link io.aether.discovery.Beacon beacons}; a {@link io.aether.discovery.BeaconListener}
 * keeps a bounded table of what it heard, each entry expiring when its sender goes quiet.
 *
 * <p>A beacon is a hint, not a credential: anyone on the network can send one. It names the
 * sender's key id so that what happens next can be checked against it (a node's registration
 * proves possession of that key over mutually authenticated TLS, with a join token); nothing is
 * trusted because a beacon said so.
 */
package io.aether.discovery;
