; Inno Setup 6 script: wraps the PyInstaller bundle into a per-user Windows installer.
;
; Built by `python installer/make_bundle.py --installer`, which passes the defines below:
;   ISCC /DAppVersion=0.1.0 /DBundleDir=dist\ev-battery-monitor /DRepoDir=. installer\ev-battery-monitor.iss
; The version is never written here: it comes from pyproject.toml through the build.
;
; Installs without administrator rights into %LOCALAPPDATA%\Programs\EV Battery Monitor,
; adds a Start menu entry, lets .blf, .asc and .trc captures open with the app, and on
; uninstall removes exactly what it installed. The user's workspace (labels, trace cache,
; settings, logs) lives in %LOCALAPPDATA%\EVBatteryMonitor, which this script never names,
; so an uninstall or an upgrade keeps it.

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=X.Y.Z (python installer/make_bundle.py --installer does)
#endif
#ifndef BundleDir
  #error Pass the bundle folder: ISCC /DBundleDir=dist\ev-battery-monitor
#endif
#ifndef RepoDir
  #define RepoDir ".."
#endif
; Windows wants four numbers in a file version ("0.2.0rc1" is not one): the build passes them.
#ifndef AppNumericVersion
  #define AppNumericVersion AppVersion
#endif

#define AppName "EV Battery Monitor"
#define AppExe "ev-battery-monitor.exe"
#define ProgIdPrefix "EVBatteryMonitor"

[Setup]
; The AppId ties upgrades and the uninstaller together: never change it.
AppId={{19778223-EFCB-4DF9-A19C-7B98953F7D42}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=EV Battery Monitor contributors
VersionInfoVersion={#AppNumericVersion}
; Per user, no UAC prompt: {autopf} is %LOCALAPPDATA%\Programs and HKA is HKCU.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SetupIconFile={#RepoDir}\resources\icons\ev-battery-monitor.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
ChangesAssociations=yes
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
OutputBaseFilename=ev-battery-monitor-{#AppVersion}-setup

[Tasks]
Name: "defaultopen"; Description: "Open .blf, .asc and .trc captures with {#AppName} by default"; GroupDescription: "File types:"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder bundle; replacing every file on upgrade keeps Qt and Python consistent.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Open CAN captures and see the battery"
Name: "{autoprograms}\{#AppName} demo"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"; Comment: "Open the bundled demo recording"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; One ProgID per capture format. "Open with" lists the app for each extension in any case;
; the defaultopen task also makes it the default program (removed again on uninstall).
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.blf"; ValueType: string; ValueName: ""; ValueData: "CAN capture (Vector BLF)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.blf\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.blf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.blf\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.blf"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.blf"; ValueType: string; ValueName: ""; ValueData: "{#ProgIdPrefix}.blf"; Flags: uninsdeletevalue; Tasks: defaultopen

Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.asc"; ValueType: string; ValueName: ""; ValueData: "CAN capture (Vector ASC)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.asc\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.asc\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.asc\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.asc"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.asc"; ValueType: string; ValueName: ""; ValueData: "{#ProgIdPrefix}.asc"; Flags: uninsdeletevalue; Tasks: defaultopen

Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.trc"; ValueType: string; ValueName: ""; ValueData: "CAN capture (PCAN TRC)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.trc\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.trc\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.trc\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.trc"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.trc"; ValueType: string; ValueName: ""; ValueData: "{#ProgIdPrefix}.trc"; Flags: uninsdeletevalue; Tasks: defaultopen

; Lets Windows offer the app in "Open with" under its own name.
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".blf"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".asc"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".trc"; ValueData: ""

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "--demo"; Description: "Open the demo recording now"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the install folder, and only once it is empty: nothing the user wrote is touched.
Type: dirifempty; Name: "{app}"

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent then
    MsgBox('{#AppName} was removed. Your labels, sessions and settings were kept in '
      + ExpandConstant('{localappdata}') + '\EVBatteryMonitor; delete that folder to remove '
      + 'them too.', mbInformation, MB_OK);
end;
