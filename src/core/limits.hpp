// core/limits.hpp: every attacker-controlled quantity has a named limit here.
//
// Each module has a config struct whose defaults come from these constants, so
// the defaults live in one place and docs/architecture.md can list them.
// Hitting a limit always fails closed: temperror/permerror/bogus/defer, never
// pass, insecure or send-in-clear.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mxsec::limits {

// --- DNS ---------------------------------------------------------------
inline constexpr std::chrono::milliseconds kDnsQueryTimeout{5000};
inline constexpr std::size_t kDnsMaxRecordsPerAnswer = 256;
inline constexpr std::size_t kDnsMaxTxtBytes = 16 * 1024;  // joined TXT rdata

// --- SPF (RFC 7208 §4.6.4) --------------------------------------------------
inline constexpr int kSpfDnsTerms = 10;       // include, a, mx, ptr, exists, redirect
inline constexpr int kSpfVoidLookups = 2;     // NXDOMAIN / NODATA answers
inline constexpr int kSpfMxPtrNames = 10;     // names looked up per mx / ptr term
inline constexpr std::size_t kSpfRecordBytes = 4096;
inline constexpr std::size_t kSpfMacroExpansionBytes = 1024;
inline constexpr int kSpfTerms = 256;          // terms per record
inline constexpr std::chrono::milliseconds kSpfTotalTime{20000};  // §4.6.4: at least 20 s

// --- DKIM ------------------------------------------------------------------
inline constexpr int kDkimMaxSignatures = 10;
inline constexpr std::size_t kDkimSignatureBytes = 8192;
inline constexpr std::size_t kDkimKeyRecordBytes = 8192;
inline constexpr int kDkimMinRsaBits = 1024;   // RFC 8301 §3.2
inline constexpr int kDkimMaxRsaBits = 8192;
inline constexpr int kDkimSignedHeaders = 64;  // h= entries
inline constexpr long kDkimClockSkewSeconds = 300;
inline constexpr std::size_t kDkimKeyFileBytes = 64 * 1024;  // a private key file we sign with

// --- Messages ---------------------------------------------------------------
inline constexpr std::size_t kMessageBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kHeaderBytes = 1024 * 1024;
inline constexpr std::size_t kHeaderFields = 1000;
// The 8-bit to 7-bit conversion for a next hop without 8BITMIME
// (codec/mime_downgrade.hpp): multipart nesting, parts in one message, the
// unfolded value of one Content-Type or Content-Transfer-Encoding field it
// reads, and Content-Transfer-Encoding fields in one part. Past any of them
// the message is not converted (and so not sent to that hop).
inline constexpr std::size_t kMimeDowngradeDepth = 16;
inline constexpr std::size_t kMimeDowngradeParts = 1000;
inline constexpr std::size_t kMimeDowngradeFieldBytes = 4096;
inline constexpr std::size_t kMimeDowngradeEncodingFields = 4;

// --- DMARC ------------------------------------------------------------------
inline constexpr int kDmarcTreeWalkQueries = 8;  // RFC 9989 §4.10.1 (at most 8 lookups)
inline constexpr std::size_t kDmarcRecordBytes = 4096;
inline constexpr int kDmarcReportUris = 8;

// --- Authentication-Results --------------------------------------------------
inline constexpr std::size_t kAuthResultsBytes = 16 * 1024;
inline constexpr int kAuthResultsResinfo = 64;
inline constexpr int kAuthResultsProps = 32;          // ptype.property=value per resinfo
inline constexpr int kAuthResultsCommentDepth = 8;    // nested comments "((...))"

// --- SMTP client (RFC 5321 §4.5.3) ------------------------------------------
// §4.5.3.1.5 caps a reply line at 512 octets; real servers exceed it a little,
// so accept up to this many and fail the session past it.
inline constexpr std::size_t kSmtpReplyLineBytes = 2048;
inline constexpr int kSmtpReplyLines = 100;                    // lines of one multiline reply
inline constexpr std::chrono::milliseconds kSmtpConnectTimeout{30000};
inline constexpr std::chrono::milliseconds kSmtpGreetingTimeout{300000};  // §4.5.3.2.1: 5 minutes
inline constexpr std::chrono::milliseconds kSmtpCommandTimeout{300000};   // §4.5.3.2.2 (MAIL), EHLO alike
inline constexpr std::chrono::milliseconds kProbeTimeout{30000};          // whole `mxsec probe` session

// --- SMTP delivery client (smtp/client/session.hpp) ------------------------------
// RFC 5321 §4.5.3.2: "An SMTP client MUST provide a timeout mechanism. [...]
// the timeouts [...] SHOULD be easily reconfigurable, preferably without
// recompiling". The greeting (§4.5.3.2.1, 5 minutes) is kSmtpGreetingTimeout;
// EHLO, STARTTLS, RSET and QUIT use kSmtpCommandTimeout.
inline constexpr std::chrono::milliseconds kSmtpMailTimeout{300000};       // §4.5.3.2.2: MAIL, 5 minutes
inline constexpr std::chrono::milliseconds kSmtpRcptTimeout{300000};       // §4.5.3.2.3: RCPT, 5 minutes
inline constexpr std::chrono::milliseconds kSmtpDataInitTimeout{120000};   // §4.5.3.2.4: DATA initiation, 2 minutes
inline constexpr std::chrono::milliseconds kSmtpDataBlockTimeout{180000};  // §4.5.3.2.5: each data block, 3 minutes
inline constexpr std::chrono::milliseconds kSmtpDataDoneTimeout{600000};   // §4.5.3.2.6: after ".", 10 minutes
// Hard deadline of one outbound session, connect to QUIT, however many
// messages it carries (connection reuse) and whatever each step's deadline.
inline constexpr std::chrono::milliseconds kSmtpClientSessionTimeout{1800000};  // 30 minutes
// RCPT commands per pipelined write (RFC 2920 §3.1), as kLmtpPipelineRcpts.
inline constexpr std::size_t kSmtpPipelineRcpts = 100;
// Message text is dot-stuffed and written in blocks of about this size.
inline constexpr std::size_t kSmtpDataBlockBytes = 64 * 1024;
// When the delivery agent stops, its idle cached sessions are QUIT
// (delivery/session_cache.hpp); their replies are awaited this long at
// most, so a peer that does not answer cannot hold up shutdown.
inline constexpr std::chrono::milliseconds kOutboundQuitOnStop{2000};

// --- LMTP client (delivery/lmtp: RFC 2033 local delivery) ------------------------
// RFC 5321 §4.5.3.2 timeouts, which RFC 2033 inherits. A local mail store
// answers in milliseconds; these bound a store that hangs, so that a runner
// thread is never held longer than kLmtpSessionTimeout by one transaction.
inline constexpr std::chrono::milliseconds kLmtpConnectTimeout{30000};
inline constexpr std::chrono::milliseconds kLmtpCommandTimeout{300000};   // §4.5.3.2.1-4: greeting, LHLO, MAIL, RCPT
inline constexpr std::chrono::milliseconds kLmtpDataTimeout{180000};      // §4.5.3.2.5: one block of text
inline constexpr std::chrono::milliseconds kLmtpDataDoneTimeout{600000};  // §4.5.3.2.6: each reply after "."
// Hard deadline of one LMTP transaction, connect to QUIT, whatever the steps.
inline constexpr std::chrono::milliseconds kLmtpSessionTimeout{1800000};
// RCPT commands per pipelined write (RFC 2920 §3.1: a client that writes
// while the server's replies pile up unread can deadlock both sides; a group
// this size keeps every reply of a group within a socket buffer).
inline constexpr std::size_t kLmtpPipelineRcpts = 100;
// Message text is dot-stuffed and written in blocks of about this size, so a
// 50 MB message never has a second copy in the heap.
inline constexpr std::size_t kLmtpDataBlockBytes = 64 * 1024;

// --- SMTP session layer (smtp/session) -----------------------------------------
// A line we read as a server (command or DATA text), excluding its line end.
// RFC 5321 §4.5.3.1.4 sets 512 octets for a command line and §4.5.3.1.6 1000
// for a text line, but "the maximum total length of a command line"
// grows with extensions (SMTPUTF8, long AUTH responses: RFC 4954 §4), so
// accept up to this many and fail the line (Errc::limit) past it.
inline constexpr std::size_t kSmtpLineBytes = 2048;
// Whole SMTP session, connect to close, whatever each step's own deadline.
inline constexpr std::chrono::milliseconds kSmtpSessionTimeout{1800000};  // 30 minutes
// Octets one read asks the transport for; also bounds what one read can add
// to the receive buffer beyond the line or reply limit.
inline constexpr std::size_t kSmtpReadChunkBytes = 4096;

// --- SMTP server: paths and ESMTP parameters (smtp/proto/command.hpp) ------------
// RFC 5321 §4.5.3.1.1-3: "The maximum total length of a user name or other
// local-part is 64 octets", "of a domain name or number is 255 octets", "of a
// reverse-path or forward-path is 256 octets (including the punctuation and
// element separators)". Longer is refused (553 5.1.3 / 501 5.5.4).
inline constexpr std::size_t kSmtpLocalPartBytes = 64;
inline constexpr std::size_t kSmtpDomainBytes = 255;
inline constexpr std::size_t kSmtpPathBytes = 256;
// RFC 3461 §4.4 and §4.2: the ENVID value is at most 100 characters, the
// ORCPT value at most 500, both counted as sent (xtext). Longer is 501 5.5.4.
inline constexpr std::size_t kDsnEnvidBytes = 100;
inline constexpr std::size_t kDsnOrcptBytes = 500;
// --- SMTP AUTH (smtp/server: RFC 4954, RFC 4616) ---------------------------------
// A client response line during an AUTH exchange, excluding its line end.
// RFC 4954 §4: "12288 octets is considered to be a sufficient line length
// limit for handling of deployed authentication mechanisms"; a longer line
// fails the AUTH command with 500 5.5.6. (The AUTH command line itself, with
// its initial response, stays under kSmtpLineBytes.)
inline constexpr std::size_t kSmtpAuthLineBytes = 12288;
// authcid and authzid. RFC 4616 §2: "The server MUST be capable of accepting
// authzid, authcid, and passwd production up to and including 255 octets."
// User names in the users file have the same bound.
inline constexpr std::size_t kSmtpAuthIdentityBytes = 255;
// A password: at most what crypt(3) hashes (CRYPT_MAX_PASSPHRASE_SIZE 512,
// terminating NUL included).
inline constexpr std::size_t kSmtpAuthPasswordBytes = 511;
// The file holding the password of [outbound] relayhost_password_file: one
// line of at most kSmtpAuthPasswordBytes; a file past this is a wrong path.
inline constexpr std::size_t kRelayPasswordFileBytes = 4096;
// The users file of `mxsec passwd` (one "user:hash" line per user).
inline constexpr std::size_t kUsersFileBytes = 1024 * 1024;

// --- TLS ----------------------------------------------------------------------
inline constexpr std::chrono::milliseconds kTlsHandshakeTimeout{60000};
inline constexpr int kTlsMaxChainCertificates = 16;             // certificates accepted from a peer

// --- DANE (RFC 7672, RFC 6698) -------------------------------------------------
inline constexpr std::size_t kDaneMaxTlsaRecords = 32;  // per RRset; more -> defer that MX
inline constexpr std::size_t kDaneMaxTlsaDataBytes = 4096;  // full-certificate (0 x 0) association data

// --- MTA-STS (RFC 8461) ----------------------------------------------------------
inline constexpr std::size_t kStsPolicyBytes = 64 * 1024;     // §3.3: "such as 64 kilobytes"
inline constexpr std::uint32_t kStsMaxAgeSeconds = 31557600;  // §3.2: max_age upper bound
inline constexpr int kStsMaxMxPatterns = 64;
inline constexpr std::size_t kStsRecordBytes = 1024;          // _mta-sts TXT, joined
inline constexpr std::chrono::milliseconds kStsFetchTimeout{60000};

// --- TLS-RPT (RFC 8460) -------------------------------------------------------------
inline constexpr std::size_t kTlsRptRecordBytes = 4096;       // _smtp._tls TXT, joined
inline constexpr int kTlsRptMaxRua = 8;
// The TLS-RPT event store (reporting/tlsrpt_store.hpp). Every text field of
// an event (host names, HELO, addresses, reason code, additional
// information, queue ID) is escaped and cut to this many octets (plus a
// "..." marker), so a hostile MX name or HELO cannot grow the database.
inline constexpr std::size_t kTlsRptEventTextBytes = 512;
// The policy strings of one event, counted together and one by one: an
// event over either limit is refused (Errc::limit), not cut, because a cut
// policy would be reported as a different policy. 32 full-certificate TLSA
// records (kDaneMaxTlsaRecords x kDaneMaxTlsaDataBytes, in hex) fit, and so
// does an MTA-STS policy of kStsPolicyBytes.
inline constexpr std::size_t kTlsRptPolicyBytes = 320 * 1024;
inline constexpr std::size_t kTlsRptPolicyStrings = 256;
// How long a writer waits for SQLite's lock held by another connection
// (another process reading the database) before the write fails.
inline constexpr std::chrono::milliseconds kTlsRptBusyTimeout{5000};

// --- Transport policy --------------------------------------------------------------
inline constexpr int kPolicyMaxMxHosts = 32;          // MX records considered per domain
inline constexpr int kPolicyMaxAddressesPerHost = 16;
inline constexpr int kPolicyMaxCnameChain = 8;

// --- Delivery status notifications (delivery/dsn.hpp) ---------------------------------
// RFC 3461 §4.3 leaves it to the MTA what a failed DSN returns when the sender
// gave no RET=: the whole message up to this size, only its header above it.
inline constexpr std::size_t kDsnReturnFullBytes = 128 * 1024;
// Remote text quoted in a DSN (a server's reply as Diagnostic-Code and in the
// human-readable part); longer is cut, with "...".
inline constexpr std::size_t kDsnDiagnosticBytes = 2048;

// --- Queue (queue/spool) -------------------------------------------------------------
// The envelope and prepended header fields of one queue file (its JSON part),
// and one state/ID file. The server writes both, but a damaged file must not
// make the reader allocate whatever its footer claims.
inline constexpr std::size_t kQueueEnvelopeBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kQueueStateBytes = 16 * 1024 * 1024;
// Block size of the start-up read that checks a queue file's text checksum.
inline constexpr std::size_t kQueueVerifyBlockBytes = 1024 * 1024;
// Queue files of delivered messages kept in free/ for new messages
// (queue/recycler.hpp): at most this many, this many octets in all, and
// none larger than kQueueRecycleFileBytes (a larger one is deleted). The
// disk a spool holds for old files is bounded by kQueueRecycleBytes.
inline constexpr std::size_t kQueueRecycleFiles = 512;
inline constexpr std::uint64_t kQueueRecycleBytes = 64ULL * 1024 * 1024;
inline constexpr std::uint64_t kQueueRecycleFileBytes = 1024 * 1024;
// Queue attempts started and not finished (delivery/runner.hpp). Relay
// attempts wait on the network, not on a runner thread, so without a bound
// a full queue would map every message and park a coroutine per message
// waiting for a connection slot; the others wait their turn in the runner.
inline constexpr std::size_t kQueueAttemptsInFlight = 1000;

// --- Metrics endpoint (metrics/http_server.hpp: Prometheus scrapes over HTTP/1.1) ---
// The request head (request line and header fields, RFC 9112 §2.1): a
// scraper sends a few hundred octets. Past either limit: 431 (RFC 6585 §5).
inline constexpr std::size_t kMetricsHeadBytes = 8 * 1024;
inline constexpr std::size_t kMetricsHeadFields = 64;
// The whole head must arrive within this time, however it is dripped;
// then the connection is closed without an answer.
inline constexpr std::chrono::milliseconds kMetricsReadTimeout{5000};
// Writing the response, and reading (and discarding) what the client still
// sends after it before the close (so that the response is not lost to a
// TCP reset): bounded in time and octets.
inline constexpr std::chrono::milliseconds kMetricsWriteTimeout{10000};
inline constexpr std::chrono::milliseconds kMetricsLingerTimeout{2000};
inline constexpr std::size_t kMetricsLingerBytes = 64 * 1024;
// Scrape connections at once; one more is closed at once.
inline constexpr std::size_t kMetricsConnections = 8;

}  // namespace mxsec::limits
