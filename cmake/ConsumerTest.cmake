# cmake -D BUILD_DIR=<build> -D SOURCE_DIR=<repo> [-D GENERATOR=Ninja] [-D PREFIX=<dir>] -P ConsumerTest.cmake
#
# Installs the TensorEngine build in BUILD_DIR into a scratch prefix, configures and builds
# Tests/cmake-consumer against that prefix alone (find_package(TensorEngine CONFIG)), and runs
# the consumer, which multiplies two matrices on Device.cpu and checks the result.
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED GENERATOR)
  set(GENERATOR Ninja)
endif()
if(NOT DEFINED PREFIX)
  set(PREFIX "${BUILD_DIR}/consumer-test/prefix")
endif()
set(consumer_build "${BUILD_DIR}/consumer-test/build")

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE status)
  if(status)
    string(REPLACE ";" " " line "${ARGV}")
    message(FATAL_ERROR "failed (${status}): ${line}")
  endif()
endfunction()

file(REMOVE_RECURSE "${PREFIX}" "${consumer_build}")
run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")
run("${CMAKE_COMMAND}" -G "${GENERATOR}" -S "${SOURCE_DIR}/Tests/cmake-consumer" -B "${consumer_build}"
    "-DCMAKE_PREFIX_PATH=${PREFIX}")
run("${CMAKE_COMMAND}" --build "${consumer_build}")
run("${consumer_build}/consumer")
