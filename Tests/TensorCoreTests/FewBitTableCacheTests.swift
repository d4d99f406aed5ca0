import Testing
@testable import TensorCore

/// The process-wide table cache under concurrent first use: every caller gets the same table,
/// the first one stored.
/// (Its own suite so that the ThreadSanitizer stage, which skips the single-threaded table
/// mathematics, still runs it: `scripts/sanitizer-tests`.)
@Suite struct FewBitTableCacheTests {
    @Test func cachedAndThreadSafe() async throws {
        let tables = try await withThrowingTaskGroup(of: FewBitTable.self) { group in
            for _ in 0..<8 { group.addTask { try FewBitTable.optimal(for: .mish, bits: 3) } }
            var all: [FewBitTable] = []
            for try await table in group { all.append(table) }
            return all
        }
        #expect(Set(tables).count == 1)
        // Cached: the table is stored under its key and returned again.
        let key = FewBitTable.CacheKey(activation: .mish, bits: 3, weight: .uniform(-100, 100), certified: true)
        #expect(FewBitTable.cachedTable(key) == tables.first)
        #expect(try FewBitTable.optimal(for: .mish, bits: 3) == tables.first)
    }
}
