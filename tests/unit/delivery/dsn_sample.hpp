// Shared by the DSN tests and dsn_samples (the input of the Python judge):
// a queued original and a failed report about it, for each test to vary.
#pragma once

#include <cstdint>
#include <string>

#include "delivery/dsn.hpp"

namespace mxsec::delivery::test {

inline constexpr std::int64_t kSampleArrival = 1796300000;
inline constexpr std::int64_t kSampleNow = kSampleArrival + 3600;

inline const std::string kSampleOriginal =
    "Received: from client.example.org by mx.example.test (mxsec) id 0HOQJ7K6VC6KO1KA; date\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.test\r\n"
    "Subject: quarterly report\r\n"
    "Message-ID: <q1@example.org>\r\n"
    "\r\n"
    "The body, which only a full return carries.\r\n";

// From alice@example.org, about bob@example.test, who got a 5.1.1 from an
// LMTP server.
inline DsnReport sample_failed_report() {
  DsnReport r;
  r.action = DsnAction::failed;
  r.reporting_mta = "mx.example.test";
  r.queue_id = "0HOQJ7K6VC6KO1KA";
  r.sender = "alice@example.org";
  r.arrival = kSampleArrival;
  r.now = kSampleNow;
  r.message_id = "0HOQJ7K6VC6KO2ZZ";
  DsnRecipient bob;
  bob.address = "bob@example.test";
  bob.diagnostic = "550 5.1.1 <bob@example.test> User unknown";
  bob.remote_mta = "lmtp.example.test";
  bob.last_attempt = kSampleNow;
  r.recipients.push_back(bob);
  return r;
}

}  // namespace mxsec::delivery::test
