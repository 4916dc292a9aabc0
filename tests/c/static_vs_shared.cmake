# cmake -DA=prog1 -DB=prog2 -DOUT=dir [-DARGS=a;b;c] -P static_vs_shared.cmake
# Runs both programs (the same source linked statically and dynamically), test_capi as
# `--dump FILE`, any other with ARGS and its standard output kept, and fails unless both
# succeed with byte-identical results.
foreach(which A B)
  get_filename_component(name "${${which}}" NAME)
  set(file_${which} "${OUT}/${name}.out")
  if(DEFINED ARGS)
    execute_process(COMMAND "${${which}}" ${ARGS} OUTPUT_FILE "${file_${which}}"
                    RESULT_VARIABLE rc)
  else()
    execute_process(COMMAND "${${which}}" --dump "${file_${which}}" RESULT_VARIABLE rc)
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${${which}} failed: ${rc}")
  endif()
endforeach()
execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${file_A}" "${file_B}"
                RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  message(FATAL_ERROR "static and shared builds differ: ${file_A} ${file_B}")
endif()
file(STRINGS "${file_A}" lines)
list(LENGTH lines n)
message(STATUS "static and shared: ${n} identical lines")
