# cmake -D CMAKE_DIR=<build>/shaders -D SWIFTPM_DIR=<.build> -D SHADER_DIR=<Shaders> [-D REQUIRE=ON]
#       -P CompareSPIRV.cmake
#
# Checks that the CMake build embeds exactly the SPIR-V SwiftPM's ShaderPlugin embeds: for
# every Shaders/*.comp, <build>/shaders/SPIRV_<name>.swift must equal, byte for byte, the
# SPIRV_<name>.swift under the SwiftPM build's plugin outputs. Prints "SKIP: ..." (the test's
# SKIP_REGULAR_EXPRESSION) when there is no SwiftPM build to compare against, or fails
# then with -D REQUIRE=ON.
cmake_minimum_required(VERSION 3.25)
foreach(var CMAKE_DIR SWIFTPM_DIR SHADER_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CompareSPIRV.cmake: -D ${var}=... is required")
  endif()
endforeach()

# .build/plugins/outputs/<package>/VulkanBackend/destination/ShaderPlugin/SPIRV_<name>.swift
file(GLOB_RECURSE swiftpm_files LIST_DIRECTORIES false "${SWIFTPM_DIR}/plugins/outputs/SPIRV_*.swift")
list(FILTER swiftpm_files INCLUDE REGEX "/ShaderPlugin/SPIRV_[^/]*\\.swift$")
if(NOT swiftpm_files AND REQUIRE)
  message(FATAL_ERROR "no SwiftPM ShaderPlugin outputs under ${SWIFTPM_DIR}/plugins/outputs to compare with")
elseif(NOT swiftpm_files)
  message("SKIP: no SwiftPM ShaderPlugin outputs under ${SWIFTPM_DIR}/plugins/outputs "
          "(run `swift build` first, or configure with -DTENSORENGINE_SWIFTPM_BUILD_DIR=...)")
  return()
endif()

file(GLOB shaders "${SHADER_DIR}/*.comp")
list(SORT shaders)
set(failures 0)
set(compared 0)
foreach(shader IN LISTS shaders)
  get_filename_component(name "${shader}" NAME_WE)
  set(ours "${CMAKE_DIR}/SPIRV_${name}.swift")
  set(theirs)
  foreach(candidate IN LISTS swiftpm_files)
    get_filename_component(candidate_name "${candidate}" NAME)
    if(candidate_name STREQUAL "SPIRV_${name}.swift")
      list(APPEND theirs "${candidate}")
    endif()
  endforeach()
  if(NOT EXISTS "${ours}")
    message("MISSING in CMake build: ${ours}")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  if(NOT theirs)
    message("MISSING in SwiftPM build (stale? rerun swift build): SPIRV_${name}.swift")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  foreach(other IN LISTS theirs)
    execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${ours}" "${other}"
      RESULT_VARIABLE differs)
    if(differs)
      message("DIFFERENT: ${ours}\n       vs: ${other}")
      math(EXPR failures "${failures} + 1")
    else()
      math(EXPR compared "${compared} + 1")
    endif()
  endforeach()
endforeach()

list(LENGTH shaders count)
if(failures)
  message(FATAL_ERROR "${failures} embedded SPIR-V file(s) differ between the CMake and SwiftPM builds")
endif()
message("OK: ${count} shaders, ${compared} SwiftPM file(s) byte-identical to the CMake build's")
