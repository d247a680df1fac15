// swift-tools-version: 6.1
// NVMeKit: a raw-register NVMe toolkit. Targets are layered; imports only point downward:
//   NVMeSpec (pure spec)  <-  NVMePlatform (shim, VFIO/UIO/PCI/DMA/IRQ)  <-  NVMeDriver  <-  tools / CLI
//                              NVMeSimulator implements NVMePlatform's protocols in-process.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "NVMeKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nvmekit", targets: ["NVMeKitCLI"]),
        .library(name: "NVMeSpec", targets: ["NVMeSpec"]),
        .library(name: "NVMePlatform", targets: ["NVMePlatform"]),
        .library(name: "NVMeDriver", targets: ["NVMeDriver"]),
        .library(name: "NVMeSimulator", targets: ["NVMeSimulator"]),
        .library(name: "NVMeWorkload", targets: ["NVMeWorkload"]),
        .library(name: "NVMeTestKit", targets: ["NVMeTestKit"]),
        .library(name: "NVMeConformance", targets: ["NVMeConformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Pure NVMe 2.x model: registers, SQE/CQE, statuses, command builders, decoders, PRP/SGL math. No syscalls.
        .target(name: "NVMeSpec", swiftSettings: strict),

        // The only C: volatile MMIO, barriers, typed ioctl wrappers, eventfd.
        .target(name: "CNVMeShim"),
        .systemLibrary(name: "CPCIAccess", pkgConfig: "pciaccess", providers: [.apt(["libpciaccess-dev"])]),
        .systemLibrary(name: "CNUMA", pkgConfig: "numa", providers: [.apt(["libnuma-dev"])]),

        // Backend-neutral device interface + the real backends (VFIO type1, VFIO no-IOMMU, UIO), PCI, DMA, IRQs.
        .target(
            name: "NVMePlatform",
            dependencies: [
                "NVMeSpec", "CNVMeShim", "CPCIAccess", "CNUMA",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: strict),

        // Queues, doorbells, controller init steps, commands, AER, command log, resets.
        .target(
            name: "NVMeDriver",
            dependencies: [
                "NVMeSpec", "NVMePlatform", "CNVMeShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict),

        // An in-process NVMe controller speaking the same register/DMA/interrupt interfaces.
        .target(
            name: "NVMeSimulator",
            dependencies: [
                "NVMeSpec", "NVMePlatform", "CNVMeShim",
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: strict),

        // IOWorker: load generation with per-LBA verification, latency histograms, results and reports.
        .target(
            name: "NVMeWorkload",
            dependencies: [
                "NVMeSpec", "NVMePlatform", "NVMeDriver",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: strict),

        // Generators, oracles, runner, repro files and minimiser for malformed commands, doorbells and init sequences.
        .target(
            name: "NVMeFuzz",
            dependencies: ["NVMeSpec", "NVMePlatform", "NVMeDriver", "NVMeSimulator"],
            swiftSettings: strict),

        // Swift Testing fixtures for users' own test packages: target from the environment, controller/queue/buffer
        // traits, capability skips, failure records (docs/testkit.md).
        .target(
            name: "NVMeTestKit",
            dependencies: ["NVMeSpec", "NVMePlatform", "NVMeDriver", "NVMeSimulator", "NVMeWorkload"],
            swiftSettings: strict),

        // The spec conformance suite users run on their own drive: tests as values citing the spec, a runner with a
        // fresh controller and a deadline per test, text/JUnit/JSON reports (docs/conformance.md).
        .target(
            name: "NVMeConformance",
            dependencies: ["NVMeSpec", "NVMePlatform", "NVMeDriver"],
            swiftSettings: strict),

        .executableTarget(
            name: "NVMeKitCLI",
            dependencies: [
                "NVMeSpec", "NVMePlatform", "NVMeDriver", "NVMeSimulator", "NVMeFuzz", "NVMeWorkload", "NVMeConformance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .testTarget(name: "NVMeSpecTests", dependencies: ["NVMeSpec"]),
        .testTarget(name: "NVMeSimulatorTests", dependencies: ["NVMeSimulator", "NVMeSpec", "NVMePlatform"]),
        .testTarget(name: "NVMeDriverTests", dependencies: ["NVMeDriver", "NVMeSimulator", "NVMeSpec", "NVMePlatform"]),
        .testTarget(name: "NVMeWorkloadTests", dependencies: ["NVMeWorkload", "NVMeDriver", "NVMeSimulator", "NVMeSpec", "NVMePlatform"]),
        .testTarget(name: "NVMePlatformTests", dependencies: ["NVMePlatform", "NVMeSpec", "CNVMeShim"]),
        .testTarget(name: "NVMeFuzzTests", dependencies: ["NVMeFuzz", "NVMeSpec", "NVMePlatform", "NVMeDriver", "NVMeSimulator"]),
        // Run inside the QEMU guest by `tools/vm test`; enabled only when NVMEKIT_GUEST=1.
        .testTarget(name: "DeviceTests", dependencies: ["NVMeSpec", "NVMePlatform", "NVMeDriver", "NVMeSimulator", "NVMeWorkload", "NVMeFuzz"]),
        .testTarget(name: "NVMeTestKitTests", dependencies: ["NVMeTestKit", "NVMeDriver", "NVMeSimulator", "NVMeSpec", "NVMePlatform"]),
        .testTarget(name: "NVMeConformanceTests", dependencies: ["NVMeConformance", "NVMeDriver", "NVMeSimulator", "NVMeSpec", "NVMePlatform"]),
        .testTarget(name: "NVMeKitCLITests", dependencies: ["NVMeKitCLI", "NVMeSpec", "NVMeFuzz", "NVMeSimulator"]),
    ],
    swiftLanguageModes: [.v6]
)
