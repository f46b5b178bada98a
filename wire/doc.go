// Package wire holds metacdn's one wire schema (metacdn.proto) and the codec
// that puts its messages on the network as Protobuf or JSON.
//
// # Encodings
//
// Protobuf is the binary encoding of proto.Marshal. JSON is the same
// messages with the schema's field names (snake_case), bytes as standard
// base64. JSON is written by encoding/json over the generated structs, whose
// json tags carry the schema's names: it encodes large bytes fields about
// twice as fast as protojson. It is read by protojson, which decodes them
// about three times faster than encoding/json (see BenchmarkCodec) and
// accepts the same names. The JSON written differs from protojson's own only
// in that 64-bit integers are JSON numbers, which protojson also reads, so
// any protobuf library can parse what metacdn writes.
package wire
