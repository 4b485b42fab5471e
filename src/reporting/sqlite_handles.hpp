// reporting/sqlite_handles.hpp: SQLite handles owned by std::unique_ptr from
// acquisition (the pattern of tls/handles.hpp).
//
// Contract: SqlitePtr closes its connection with sqlite3_close_v2() (which
// also waits for statements still open, so the order of destruction cannot
// leak the connection); StmtPtr finalizes its statement. A null pointer is
// never passed to SQLite.
#pragma once

#include <sqlite3.h>

#include <memory>

namespace mxsec::reporting {

struct SqliteClose { void operator()(sqlite3* p) const { sqlite3_close_v2(p); } };
struct StmtFinalize { void operator()(sqlite3_stmt* p) const { sqlite3_finalize(p); } };

using SqlitePtr = std::unique_ptr<sqlite3, SqliteClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

}  // namespace mxsec::reporting
