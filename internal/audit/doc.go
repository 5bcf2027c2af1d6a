// Package audit keeps mima's tamper-evident audit log: records of every
// request that reaches the API, SM3 hash-chained, durably written before the
// response is sent, and periodically anchored by checkpoints signed with the
// server's SM2 audit key.
//
// # Storage format
//
// The log is a sequence of lines, each one record followed by '\n'. Record
// lines are numbered by seq: the n-th record line of the log, across
// segments, holds the record with seq n. A line holds its record in one of
// two forms, told apart by its first byte:
//
//   - '{': JSON, exactly as encoding/json marshals the Record struct; the
//     verifier re-encodes every parsed record and rejects a line whose
//     bytes differ ("non-canonical encoding"). Checkpoints are always
//     stored so, and so was every record before the compact form.
//   - 0x02: the compact form (Record.Form 2, see "Compact records"), in
//     which the Logger stores every request record.
//
// Either way no byte of a stored line can change unnoticed. Readers accept
// both forms in any segment, so logs and segments written before the
// compact form stay verifiable and searchable unchanged.
//
// A request that can change state has two records with the same request_id:
// one without a status, written before it acts ("accepted; the outcome
// follows"), and one with its HTTP status and error code after. A read has
// only the second.
//
// Sensitive request fields are never stored: the "hmac" object maps each
// field name to hex(HMAC-SM3(audit HMAC key, value)), or to "redacted" when
// no HMAC key is loaded (the server is sealed).
//
// # Segments
//
// A [FileSink] stores the log as segments. The active segment is
// audit.log; when it reaches its size or age limit the Logger ends the next
// batch with a checkpoint and the sink seals the segment: it adds an entry
// to manifest.json, moves the file to segments/<first seq, 20 digits>.log
// and starts a new audit.log whose first line is the header
//
//	{"segment":"mima/audit/segment/v1","first_seq":<seq>,"prev":"<hash>"}
//
// naming the seq of its first record and the hash of the checkpoint that
// closed the segment before it. The first segment of a log (seq 1, prev 64
// '0's) has no header, so a single audit.log written before segments
// existed is read, verified and sealed unchanged as the first segment of an
// upgraded node. A header is not a record: it is not numbered or hashed,
// and readers skip it after checking it against the manifest.
//
// manifest.json is one JSON object {"segments":[...]}, oldest first, each
// entry a [SegmentInfo]: file name, status, first and last seq, prev, the
// times of the first and last records, size, and checkpoint, the signed
// checkpoint record that closes the segment, exactly as stored. The
// manifest is signed entry by entry through those checkpoints: the chain
// across segments is checked from the manifest alone (each entry's
// first_seq and prev follow the previous entry's checkpoint), and any one
// segment verifies on its own from its entry: its chain starts at prev,
// and it must end with the entry's checkpoint. A background job compresses
// each sealed segment with zstd (status "compressed", file name + ".zst")
// and verifies it, recording the result in the entry's "verified". A seal
// writes the manifest first, then moves the file, then writes the new
// audit.log; opening the directory finishes a seal that a crash cut short.
// Verify checks the segments in parallel and can start at a trusted
// checkpoint (VerifyOptions.From), skipping the segments before it.
//
// The same job writes, next to each sealed segment, its index
// segments/<first seq, 20 digits>.idx: one JSON object
//
//	{"index":"mima/audit/index/v1","first_seq":..,"last_seq":..,"checkpoint":"<hash>",
//	 "min_time":..,"max_time":..,"tenants":[..],"operations":[..],"statuses":[..]}
//
// naming the segment's range and the hash of its closing checkpoint, the
// bounds of its request records' times (arrival times, not in seq order)
// and the sorted distinct tenants, operations and statuses they hold.
// [Search] skips a segment whose index rules out the query without
// opening it; an index that does not match its manifest entry is ignored,
// and a missing one is rebuilt when the sink opens. An index is a hint
// for search, not part of what verification proves.
//
// # Archive and retention
//
// With an [Archiver], each compressed and verified segment, oldest first,
// is copied to the archive as segments/<file>, the copy is verified on its
// own (for a directory archive), and the archive's manifest.json, listing
// the archived entries, is replaced; the entry's "archived" then records
// when. An archive thus has the layout of the sealed part of a log
// directory, and [VerifyArchive] checks it from its first segment. A
// segment that failed verification stops archiving. Retention removes the
// file of a segment only once it is archived, its last record is older
// than the retention and an exporter's cursor (if any) is past it: the
// entry's status becomes "archived" first, then the file goes; the entry
// stays, and verification and scans of the directory start after it
// (Report.FirstSeq).
//
// # Export
//
// An [Exporter] sends every record, oldest first, to a [Destination] and
// keeps the seq of the last one delivered in export.json, written
// atomically after each delivery, so export resumes there after a restart
// and a failed delivery is sent again: at least once, in order. It reads
// the segments, not the Logger, so it never holds up a request. A syslog
// destination sends each record line, unchanged, as the MSG of an RFC
// 5424 message
//
//	<110>1 <record time to the µs> <node> mima - audit - <record line>
//
// framed by octet counting (RFC 6587) over TCP or a Unix stream socket,
// one connection per batch, which counts as delivered once the receiver
// closes its side after the exporter's; an HTTP destination POSTs each
// batch as JSON lines and counts a 2xx answer.
//
// # Record hash
//
// hash is the lowercase hex SM3 digest of the canonical encoding of the
// record without its hash field (for a compact record, its body: see
// "Compact records"). With
//
//	u64(x) = x as 8 bytes, big-endian
//	i64(x) = x as 8 bytes, big-endian two's complement
//	str(s) = u64(len(s)) || s   (the UTF-8 bytes of the JSON string value)
//
// the canonical encoding is the concatenation of
//
//	str("mima/audit/record/v1")
//	u64(seq)
//	str(time)  str(kind)  str(request_id)  str(tenant)  str(accessor)
//	str(operation)  str(object)
//	i64(status)
//	str(code)  str(remote)
//	u64(number of hmac entries), then for each entry in ascending bytewise
//	  order of name: str(name) str(value)
//	str(head)  u64(count)  str(signature)  str(public_key)
//	str(prev)
//
// where an absent field is the empty string or zero. A request record's
// count is zero, except in a summary of sampled refusals, which stands for
// count requests refused and not recorded one by one (see the API's
// refusal sampling). prev is the hash of the
// record with seq-1, or 64 '0' characters for seq 1. time is RFC 3339 with
// nanoseconds in UTC, exactly as time.RFC3339Nano formats it.
//
// # Compact records
//
// A compact record's line is its body followed by its hash (32 bytes, the
// SM3 digest of the body, which is the record's hash), with every '\n'
// byte written as 0x1b 'n' and every 0x1b byte as 0x1b 'e'. With
// uvarint(x) and varint(x) as in encoding/binary (LEB128, and zig-zag for
// varint), in their shortest encoding, and str(s) = uvarint(len(s)) || s
// (valid UTF-8), the body is
//
//	0x02
//	uvarint(seq)  prev (32 bytes)
//	varint(Unix seconds of time)  uvarint(nanoseconds, below 10^9)
//	str(request_id)  str(tenant)  str(accessor)  str(operation)  str(object)
//	varint(status)  str(code)  str(remote)  uvarint(count)
//	uvarint(number of hmac entries), then for each entry in strictly
//	  ascending bytewise order of name: str(name) then 0x00 for "redacted"
//	  or 0x01 and the 32 bytes of the HMAC
//
// The kind is always "request" and time's year is 1 to 9999. Its first
// byte keeps a compact body apart from every form-1 canonical encoding and
// checkpoint message (which begin with a zero byte), so the two forms
// never hash alike. The verifier hashes the body as stored, with no
// decoding to text. A compact record in JSON (export, search, the API) is
// its Record with "form":2 after "hash"; [ParseRecord] accepts that too and
// its hash is computed over the body the fields give, so an exported log
// verifies with [VerifyReader].
//
// # Checkpoints
//
// A checkpoint is a record of kind "checkpoint" that is chained like any
// other. It covers the count = seq-1 records before it, whose last hash is
// head (so head equals its prev). signature is the base64 (standard, padded)
// DER SM2 signature (GB/T 32918.2, SM3, default user ID "1234567812345678")
// over
//
//	str("mima/audit/checkpoint/v1") || str(head) || u64(count) || str(time)
//
// and public_key is the base64 DER SubjectPublicKeyInfo of the signing key.
// The Logger signs a checkpoint after every so many records, at an
// interval, when the server seals (before the signing key is dropped) and
// when it is closed at a clean shutdown, each time only if records were
// written since the last one.
//
// The latest checkpoint is also kept outside the log (checkpoint.json for a
// [FileSink]): a log whose tail was cut before that checkpoint fails
// verification. Records after the newest checkpoint the verifier knows of
// are protected by the chain only, and dropping them cannot be detected;
// the report counts them (after_checkpoint). A verifier without a pinned
// public key only checks that all checkpoints use one key; pin the server's
// audit key (VerifyOptions.PublicKey) to rule out a log rewritten and
// re-signed under another key.
//
// # Witnesses
//
// checkpoint.json lives next to the log, so whoever can rewrite the one can
// roll back the other. A [Witness] keeps every checkpoint elsewhere: each is
// sent, once it is in the log, as one JSON object
//
//	{"node":"<node id, omitted for a single node>","checkpoint":<record>}
//
// where <record> is the checkpoint line exactly as stored. A file witness
// appends these objects as lines; an HTTP witness POSTs each one; a syslog
// witness sends each one as a message ([ReadWitness] skips the syslog
// prefix). Verifying with the witnessed checkpoints (VerifyOptions.Witnessed)
// requires every one of them in the log unchanged at its seq and the log to
// reach the newest: a rewritten history or a tail cut before the last
// witnessed checkpoint fails.
package audit
