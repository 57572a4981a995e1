# What `cmake --install` puts where, and the Debian package CPack builds from it
# (`cpack -G DEB` in the build folder, or `cmake --build build --target package`):
#   bin/augur, bin/augur-forecast, bin/augur-loadtest   (install(TARGETS) in their folders)
#   share/augur/k8s/...        the manifests (kubectl apply -k /usr/share/augur/k8s)
#   share/doc/augur/...        README.md and docs/
# The package's Depends are computed by dpkg-shlibdeps from the binaries, not typed here;
# tests/package checks them and the file list.
include(GNUInstallDirs)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/k8s/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/augur/k8s
        USE_SOURCE_PERMISSIONS)
install(FILES
          ${PROJECT_SOURCE_DIR}/README.md
          ${PROJECT_SOURCE_DIR}/docs/architecture.md
          ${PROJECT_SOURCE_DIR}/docs/design.md
          ${PROJECT_SOURCE_DIR}/docs/forecast.md
          ${PROJECT_SOURCE_DIR}/docs/keda.md
          ${PROJECT_SOURCE_DIR}/docs/loadtest.md
          ${PROJECT_SOURCE_DIR}/docs/promclient.md
          ${PROJECT_SOURCE_DIR}/docs/reliability.md
          ${PROJECT_SOURCE_DIR}/docs/scaler.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(AUGUR_PACKAGE_CONTACT "Augur maintainers <augur@localhost>" CACHE STRING
    "The Debian package's Maintainer field (set it to whoever publishes the package)")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME augur)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${AUGUR_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "predictive autoscaling for Kubernetes: a KEDA external scaler that forecasts load")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "Augur answers KEDA with the load a workload will have over the next minutes: it reads\n"
    "the metric's history from Prometheus, fits a trend + seasonality model and forecasts\n"
    "ahead. Ships augur (the scaler), augur-forecast (the model and the Prometheus reader on\n"
    "the command line), augur-loadtest (load generator, KEDA emulator, benchmark,\n"
    "simulator), the Kubernetes manifests (/usr/share/augur/k8s) and the documentation.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # augur_0.2.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Prometheus over https verifies against the system CAs.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
include(CPack)
