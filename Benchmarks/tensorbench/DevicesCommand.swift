import TensorEngine

/// `tensorbench devices`: every backend and device, and why any is unavailable.
enum DevicesCommand {
    static let help = """
        tensorbench devices
          Lists every device with its description, marks the default, and says why any
          backend is unavailable.
        """

    static func run(_ options: Options) throws {
        let chosen = Device.default
        var table = Table("device", "kind", "name", "default", "details")
        for device in Device.available {
            table.add([device.identifier, device.kind.rawValue, device.name, device == chosen ? "*" : "", device.details])
        }
        print(table.render())
        for (backend, reason) in Device.unavailable {
            print("unavailable: \(backend): \(reason)")
        }
    }
}
