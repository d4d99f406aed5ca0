import Foundation
import TensorCore

extension VulkanDevice {
    /// Few-bit forward (Shaders/fewbit.comp): `output = f(input)` and the packed codes, one pass.
    public func activateFewBit(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                               into output: any BackendBuffer, fewBit: FewBitOutput) throws(TensorError) {
        let source = try buffer(input, "activateFewBit")
        let target = try buffer(output, "activateFewBit")
        let codes = try buffer(fewBit.codes, "activateFewBit codes")
        guard count > 0 else { return }
        let table = try tableBuffer(fewBit.table)
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try dispatch(.fewBit, constants: SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 0,
                                                         2: UInt32(fewBit.table.bits)]),
                     buffers: [(source, .read), (table, .read), (codes, .write), (target, .write)], push: push,
                     groups: fewBitGroups(count))
    }

    /// Few-bit backward (Shaders/fewbit.comp): `gradInput = gradOutput * levels[code]`.
    public func fewBitBackward(_ fewBit: FewBitOutput, gradOutput: any BackendBuffer, count: Int,
                               into gradInput: any BackendBuffer) throws(TensorError) {
        let gradient = try buffer(gradOutput, "fewBitBackward")
        let target = try buffer(gradInput, "fewBitBackward")
        let codes = try buffer(fewBit.codes, "fewBitBackward codes")
        guard count > 0 else { return }
        let table = try tableBuffer(fewBit.table)
        var push = PushConstants()
        push.append(count)
        push.append(Float(0))
        try dispatch(.fewBit, constants: SpecConstants([0: 0, 1: 1, 2: UInt32(fewBit.table.bits)]),
                     buffers: [(gradient, .read), (table, .read), (codes, .read), (target, .write)], push: push,
                     groups: fewBitGroups(count))
    }

    private func fewBitGroups(_ count: Int) -> (x: Int, y: Int, z: Int) {
        let runs = (count + 31) / 32
        return (min((runs + 63) / 64, maxGroupCount.x), 1, 1)
    }

    /// The table's borders then levels in a device buffer, uploaded once per (device, table).
    func tableBuffer(_ table: FewBitTable) throws(TensorError) -> VulkanBuffer {
        if let cached = fewBitTables.lookup(table) { return cached }
        let values = table.borders + table.levels
        let storage = try makeBuffer(elementCount: values.count)
        let result: Result<Void, TensorError> = values.withUnsafeBytes { bytes in
            do throws(TensorError) {
                try write(bytes, to: storage)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        let uploaded = try buffer(storage, "few-bit table")
        fewBitTables.store(table, uploaded)
        return uploaded
    }
}

/// The few-bit tables already uploaded to one device. Tables are few (one per activation
/// and bit width), so entries live as long as the device.
///
/// `@unchecked Sendable`: `entries` is only touched while holding `lock`.
final class FewBitTableBuffers: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [FewBitTable: VulkanBuffer] = [:]

    func lookup(_ table: FewBitTable) -> VulkanBuffer? {
        lock.lock()
        defer { lock.unlock() }
        return entries[table]
    }

    func store(_ table: FewBitTable, _ buffer: VulkanBuffer) {
        lock.lock()
        entries[table] = buffer
        lock.unlock()
    }

    /// Drops every entry (the device is closing).
    func removeAll() {
        lock.lock()
        entries.removeAll()
        lock.unlock()
    }
}
