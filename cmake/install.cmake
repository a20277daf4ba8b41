# install.cmake - what `make install` lays out under the prefix, and the
# .deb CPack builds from the same rules (`make deb`).
#   bin/                                   the programs, and muster-sink for `muster up --examples`
#   etc/muster/muster.conf                 every setting, commented out (/etc/muster with prefix /usr)
#   share/muster/examples/                 workflows, alerts, scripts, secrets.env, receiver routes
#   share/doc/muster/                      README.md and docs/
#   share/bash-completion/completions/muster, share/zsh/site-functions/_muster
include(GNUInstallDirs)

# muster finds its siblings (muster-dispatcher, ...) in its own directory and
# the examples in ../share/muster/examples (cli/up.c), so they install together.
install(TARGETS muster muster-dispatcher muster-worker muster-metrics muster-api
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET muster-sink)
  install(TARGETS muster-sink RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The default settings file, written by the built muster from the settings
# table so it cannot drift from the code.
set(MUSTER_CONF ${CMAKE_BINARY_DIR}/muster.conf)
add_custom_command(OUTPUT ${MUSTER_CONF}
  COMMAND sh -c "\"$1\" config --conf >\"$2.tmp\" && mv \"$2.tmp\" \"$2\"" sh
          $<TARGET_FILE:muster> ${MUSTER_CONF}
  DEPENDS muster
  COMMENT "Writing muster.conf from the settings table"
  VERBATIM)
add_custom_target(muster_conf ALL DEPENDS ${MUSTER_CONF})
# Under the prefix /usr the settings go to /etc, as Debian and the FHS want;
# decided when installing, since `cmake --install --prefix` may change it.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(muster_etc /etc/muster)
  else()
    set(muster_etc \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}/muster\")
  endif()
  file(INSTALL \"${MUSTER_CONF}\" DESTINATION \"\${muster_etc}\")
")

install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/examples/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/muster/examples USE_SOURCE_PERMISSIONS)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PATTERN examples EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/cli/completion/muster.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME muster)
install(FILES ${CMAKE_SOURCE_DIR}/cli/completion/_muster
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)

# The .deb: prefix /usr, the libraries it links found by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME muster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "muster maintainers <muster@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "incident-response workflow orchestrator")
set(CPACK_PACKAGE_DESCRIPTION "muster turns alerts from Kafka into incidents and runs their \
workflows: tickets, pages by chat and SMS, diagnostic scripts, with every step reported as a \
CloudEvent. muster-dispatcher, muster-worker, muster-metrics, muster-api (the operators API and \
console) and the muster command, with \
example workflows.")
# Staged with DESTDIR, so the install rules see the prefix /usr (and put the
# settings in /etc).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS redis-server)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/muster/muster.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)
include(CPack)
