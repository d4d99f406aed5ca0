# Helpers for building TensorEngine's Swift targets with CMake (3.25 and newer).
include_guard(GLOBAL)

# CMake before 3.26 lists <module>.swiftmodule among the outputs of a Swift executable's
# compile step, but swiftc emits no module for an executable: Ninja then reruns the step on
# every build (never "no work to do"). Asking swiftc for that module makes the two agree.
function(te_swift_executable_workaround target)
  if(CMAKE_VERSION VERSION_LESS 3.26)
    get_target_property(module_name ${target} Swift_MODULE_NAME)
    if(NOT module_name)
      set(module_name ${target})
    endif()
    get_target_property(module_dir ${target} Swift_MODULE_DIRECTORY)
    if(NOT module_dir)
      get_target_property(module_dir ${target} BINARY_DIR)
    endif()
    target_compile_options(${target} PRIVATE
      "SHELL:-emit-module -emit-module-path ${module_dir}/${module_name}.swiftmodule")
  endif()
endfunction()

# te_add_shaders(<target> SHADER_DIR <dir> INCLUDE_DIR <dir> OUTPUT_DIR <dir> TOOL <target>)
#
# One custom command per <dir>/*.comp (globbed, so new shaders are picked up at the next
# build): spirv-embed runs glslangValidator and writes SPIRV_<name>.swift, the same file
# SwiftPM's ShaderPlugin writes. spirv-embed's --depfile lists the headers the shader
# included, so editing Shaders/common/x.glsl rebuilds exactly the shaders including it.
function(te_add_shaders target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SHADER_DIR;INCLUDE_DIR;OUTPUT_DIR;TOOL;GLSLANG" "")
  file(GLOB shaders CONFIGURE_DEPENDS "${arg_SHADER_DIR}/*.comp")
  list(SORT shaders)
  file(MAKE_DIRECTORY "${arg_OUTPUT_DIR}")
  set(outputs)
  foreach(shader IN LISTS shaders)
    get_filename_component(name "${shader}" NAME_WE)
    get_filename_component(file "${shader}" NAME)
    set(output "${arg_OUTPUT_DIR}/SPIRV_${name}.swift")
    add_custom_command(
      OUTPUT "${output}"
      COMMAND "$<TARGET_FILE:${arg_TOOL}>" "${shader}" "${output}"
              -I "${arg_INCLUDE_DIR}" --glslang "${arg_GLSLANG}" --depfile "${output}.d"
      DEPENDS "${shader}" ${arg_TOOL}
      DEPFILE "${output}.d"
      COMMENT "Compiling shader ${file}"
      VERBATIM)
    list(APPEND outputs "${output}")
  endforeach()
  target_sources(${target} PRIVATE ${outputs})
  set_property(TARGET ${target} APPEND PROPERTY TE_SHADER_OUTPUTS ${outputs})
endfunction()

# te_add_swift_testing_executable(<name> DIRECTORY <dir> DEPENDS <targets>...)
#
# A Swift Testing test target as one executable: every *.swift under <dir> plus the
# runner entry point, compiled as one module named <name> (-parse-as-library because
# the entry point is @main). Registered with CTest as <name>.
function(te_add_swift_testing_executable name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DIRECTORY" "DEPENDS")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${arg_DIRECTORY}/*.swift")
  add_executable(${name} ${sources} "${TE_SWIFT_TESTING_RUNNER}")
  target_compile_options(${name} PRIVATE -parse-as-library)
  target_link_libraries(${name} PRIVATE ${arg_DEPENDS} Testing)
  te_swift_executable_workaround(${name})
  # TENSORENGINE_TEST_ARGUMENTS (a list, e.g. --skip;REGEX) is passed to every test executable.
  add_test(NAME ${name} COMMAND ${name} ${TENSORENGINE_TEST_ARGUMENTS})
endfunction()
